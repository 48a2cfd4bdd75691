"""``ossa-hooks budget report`` and ``ossa-hooks budget count``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ossa_hooks.commands import SubParsers
from ossa_hooks.commands import emit


def register(sub: SubParsers) -> None:
    p = sub.add_parser("budget", help="token budgets: report the ledger, count tokens")
    bsub = p.add_subparsers(dest="budget_command", metavar="ACTION", required=True)
    r = bsub.add_parser("report", help="used / budget per task and agent")
    r.add_argument("--format", choices=("text", "json", "md", "html"), default="text")
    r.add_argument("--task", metavar="BRANCH|NAME", action="append",
                   help="a task (repeat for more; default: this worktree's task, else all)")
    r.add_argument("--all", action="store_true", help="every task of the repository")
    r.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    r.set_defaults(func=main_report)
    c = bsub.add_parser("count", help="count the tokens of files or stdin (offline tiktoken)")
    c.add_argument("files", nargs="*", metavar="FILE")
    c.add_argument("--encoding", help="tiktoken encoding (default: budget.encoding)")
    c.set_defaults(func=main_count)


def main_report(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import budget as budget
    from ossa_hooks.errors import OssaError

    repo = git.repo_paths()
    branches: list[str] | None = None
    if args.task:
        every = budget.usage(repo)
        branches = []
        for wanted in args.task:
            found = [t.branch for t in every if wanted in (t.branch, t.name)]
            if not found:
                raise OssaError(f"no task '{wanted}' in the ledger (see `ossa-hooks budget "
                                "report --all`)")
            branches += found
    elif not args.all:
        task = budget.current_task(repo)
        branches = [task.branch] if task is not None else None
    tasks = budget.usage(repo, branches)
    if branches is not None and not tasks and not args.task:
        task = budget.current_task(repo)
        if task is not None:
            tasks = [budget.task_usage(repo, task)]
    if args.format == "html":
        from ossa_hooks.agents import report_html
        from ossa_hooks.agents import workflow

        text = report_html.page(repo, tasks, workflow.all_workflows(repo))
    else:
        from ossa_hooks.agents import budget_report

        single = branches is not None and len(branches) == 1
        text = budget_report.render(tasks, args.format, single=single)
    emit(text, args.output)
    return 0


def main_count(args: argparse.Namespace) -> int:
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.agents import budget as budget
    from ossa_hooks.errors import OssaError

    name = args.encoding
    if name is None:
        try:
            root = git.repo_paths().toplevel
        except OssaError:
            root = None
        name = config_mod.load(root).get("budget.encoding")
    total = 0
    sources = args.files or ["-"]
    for src in sources:
        if src == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(src).read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise OssaError(f"{src}: cannot read: {e.strerror}") from None
        n = budget.count_tokens(text, name)
        total += n
        if len(sources) > 1:
            print(f"{n:>8}  {src}")
    print(f"{total:>8}  tokens ({name})" if len(sources) > 1 else f"{total} tokens ({name})")
    return 0
