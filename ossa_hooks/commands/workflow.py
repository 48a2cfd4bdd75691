"""``ossa-hooks workflow run|execute|status|logs|orchestrate|memory``: the 360° loop."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ossa_hooks.commands import SubParsers
from ossa_hooks.commands import emit

PHASES = ("1_plan", "2_execute", "3_review", "4_judge", "5_learn", "6_govern")


def register(sub: SubParsers) -> None:
    p = sub.add_parser("workflow", help="the 360° loop: plan, execute, review, judge, learn, "
                                        "govern")
    wsub = p.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)
    r = wsub.add_parser("run", help="run this task worktree's loop (exit 0 succeeded, 1 not)")
    r.add_argument("--resume", action="store_true",
                   help="continue the last unfinished workflow from its first unfinished phase")
    r.add_argument("--definition", metavar="FILE",
                   help="workflow definition (default .agents-workspace/workflows/360-loop.yaml)")
    r.add_argument("--here", action="store_true",
                   help="run in the main worktree (the coder's commits land on its branch)")
    r.set_defaults(func=main_run)
    o = wsub.add_parser("orchestrate", help="run the workflow a definition file describes")
    o.add_argument("--config", required=True, metavar="FILE",
                   help="workflow definition, or an OSSA Workflow manifest (kind: Workflow)")
    o.add_argument("--resume", action="store_true")
    o.add_argument("--here", action="store_true", help="run in the main worktree")
    o.set_defaults(func=main_orchestrate)
    e = wsub.add_parser("execute", help="run one phase: workflow execute phase --name 1_plan")
    e.add_argument("what", choices=("phase",), metavar="phase")
    e.add_argument("--name", required=True, choices=PHASES)
    e.add_argument("--workflow", type=int, metavar="ID",
                   help="the workflow (default: this worktree's latest, else a new one)")
    e.add_argument("--here", action="store_true", help="run in the main worktree")
    e.set_defaults(func=main_execute)
    s = wsub.add_parser("status", help="workflows and their phases (from any worktree)")
    s.add_argument("--workflow", type=int, metavar="ID")
    s.add_argument("--all", action="store_true", help="every workflow of the repository")
    s.add_argument("--show-budget", action="store_true", help="tokens used / budget per agent")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=main_status)
    lg = wsub.add_parser("logs", help="the agents' logs of a workflow")
    lg.add_argument("--workflow", type=int, metavar="ID")
    lg.add_argument("--follow", "-f", action="store_true", help="keep following while it runs")
    lg.set_defaults(func=main_logs)
    rp = wsub.add_parser("report", help="the HTML report: status, timeline, tokens and cost, "
                                         "escalations, verdicts")
    rp.add_argument("--workflow", type=int, metavar="ID")
    rp.add_argument("--all", action="store_true", help="every workflow of the repository")
    rp.add_argument("--output", "-o", metavar="FILE", help="write it there (default: stdout)")
    rp.set_defaults(func=main_report)
    m = wsub.add_parser("memory", help="search what earlier tasks learned (full-text)")
    m.add_argument("query", nargs="?", help="words to search (default: the newest memories)")
    m.add_argument("--limit", "-n", type=int, default=10)
    m.set_defaults(func=main_memory)


def main_run(args: argparse.Namespace) -> int:
    from ossa_hooks.agents import workflow as workflow
    definition = Path(args.definition).resolve() if args.definition else None
    return workflow.run_workflow(resume=args.resume, definition=definition, here=args.here)


def main_orchestrate(args: argparse.Namespace) -> int:
    from ossa_hooks.agents import workflow as workflow
    return workflow.run_workflow(resume=args.resume, definition=Path(args.config).resolve(),
                                 here=args.here)


def main_execute(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import workflow as workflow
    wf_id = args.workflow
    if wf_id is None:
        repo = git.repo_paths()
        mine = workflow.all_workflows(repo, repo.worktree)
        wf_id = mine[-1].id if mine else None
    return workflow.run_workflow(only=args.name, workflow_id=wf_id, here=args.here)


def _pick(args: argparse.Namespace) -> list[object]:
    from ossa_hooks import git
    from ossa_hooks.agents import workflow as workflow
    from ossa_hooks.errors import OssaError

    repo = git.repo_paths()
    if args.workflow is not None:
        return [workflow.get(repo, args.workflow)]
    if getattr(args, "all", False):
        return list(workflow.all_workflows(repo))
    mine = workflow.all_workflows(repo, repo.toplevel) if repo.toplevel else []
    if mine:
        return [mine[-1]]
    every = workflow.all_workflows(repo)
    if not every:
        raise OssaError("no workflow has run in this repository yet (`ossa-hooks workflow run`)",
                        code=1)
    return list(every)


def main_status(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import report as report
    from ossa_hooks.agents import workflow as workflow
    repo = git.repo_paths()
    chosen = [w for w in _pick(args) if isinstance(w, workflow.Workflow)]
    if args.format == "json":
        docs = [report.status_json(repo, w, args.show_budget) for w in chosen]
        print(json.dumps(docs[0] if args.workflow is not None else docs, indent=2))
    else:
        print("\n\n".join(report.format_status(repo, w, args.show_budget) for w in chosen))
    return 0


def main_logs(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import report as report
    from ossa_hooks.agents import workflow as workflow
    repo = git.repo_paths()
    chosen = [w for w in _pick(args) if isinstance(w, workflow.Workflow)]
    report.follow_logs(repo, chosen[-1], args.follow)
    return 0


def main_memory(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import memory as memory
    repo = git.repo_paths()
    found = (memory.search(repo, args.query, args.limit) if args.query
             else memory.recent(repo, args.limit))
    if not found:
        print("no memories found")
        return 0
    print(memory.format_for_prompt(found, width=200))
    return 0


def main_report(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import budget as budget
    from ossa_hooks.agents import report_html as report_html
    from ossa_hooks.agents import workflow as workflow

    repo = git.repo_paths()
    chosen = [w for w in _pick(args) if isinstance(w, workflow.Workflow)]
    branches = list(dict.fromkeys(w.branch for w in chosen))
    tasks = budget.usage(repo, branches)
    text = report_html.page(repo, tasks, chosen)
    emit(text, args.output)
    return 0
