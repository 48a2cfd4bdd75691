"""``ossa agents spawn|list|run|terminate``: the OSSA command reference's agent commands."""

from __future__ import annotations

import argparse
import json
import time

from ossa_hooks.commands import SubParsers
from ossa_hooks.commands import emit


def register(sub: SubParsers) -> None:
    p = sub.add_parser("agents", help="spawn, list, run, attach to and terminate agents")
    asub = p.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    s = asub.add_parser("spawn", help="register an agent from its spec; prints its id")
    s.add_argument("type", metavar="TYPE", help="researcher, coder or reviewer")
    s.add_argument("--config", metavar="FILE",
                   help="agent spec (default: .agents-workspace/agents/TYPE.yaml)")
    s.set_defaults(func=main_spawn)
    ls = asub.add_parser("list", help="spawned agents, their status and calls")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.add_argument("--running", action="store_true", help="only running agents")
    ls.set_defaults(func=main_list)
    r = asub.add_parser("run", help="send one message to an agent and print its answer")
    r.add_argument("id", metavar="ID")
    r.add_argument("--message", "-m", metavar="TEXT",
                   help="the message (required unless --interactive, where it is the first)")
    r.add_argument("--interactive", action="store_true",
                   help="run the agent's CLI in a tmux session to attach to (see: attach)")
    r.set_defaults(func=main_run)
    at = asub.add_parser("attach", help="attach this terminal to an agent's live tmux session")
    at.add_argument("id", metavar="ID")
    at.set_defaults(func=main_attach)
    t = asub.add_parser("terminate", help="end a running agent's whole process group")
    t.add_argument("id", metavar="ID")
    t.add_argument("--grace", type=float, default=5.0, metavar="SECONDS",
                   help="time between SIGTERM and SIGKILL (default 5)")
    t.set_defaults(func=main_terminate)
    x = asub.add_parser("export", help="write an agent spec as an OSSA Agent manifest")
    x.add_argument("name", metavar="NAME", help="agent name (.agents-workspace/agents/NAME.yaml)"
                   " or a spec file")
    x.add_argument("--output", "-o", metavar="FILE", help="write it there (default: stdout)")
    x.set_defaults(func=main_export)


def main_spawn(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from ossa_hooks import git
    from ossa_hooks.agents import registry
    from ossa_hooks.agents import specs
    from ossa_hooks.errors import OssaError

    repo = git.repo_paths()
    worktree = repo.worktree
    path = Path(args.config) if args.config else specs.spec_path(worktree, args.type)
    if not path.exists():
        raise OssaError(f"{path}: no agent spec (run `ossa-hooks spawn \"TASK\"` to write them, "
                        "or pass --config FILE)")
    spec = specs.load_spec(path.resolve(), args.type)
    if spec.type != args.type:
        raise OssaError(f"{path}: is a {spec.type} spec, not {args.type}")
    if spec.ignored:
        print(f"ossa: {path}: OSSA fields not used here: {', '.join(spec.ignored)}",
              file=sys.stderr)
    agent_id = registry.spawn(repo, spec, worktree)
    print(agent_id)
    return 0


def main_list(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import registry as agents

    repo = git.repo_paths()
    records = agents.listing(repo, everything=not args.running)
    if args.format == "json":
        print(json.dumps([r.as_json() for r in records], indent=2))
        return 0
    if not records:
        print("no agent is running" if args.running
              else "no agents spawned yet (`ossa agents spawn TYPE`)")
        return 0
    print(f"{'ID':<16} {'TYPE':<11} {'STATUS':<11} {'PID':>7} {'CALLS':>5}  {'UPDATED':<19}  "
          "WORKTREE")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.updated))
        print(f"{r.id:<16} {r.type:<11} {r.status:<11} {r.pid or '-':>7} {r.calls:>5}  {when}  "
              f"{r.worktree}")
    return 0


def main_run(args: argparse.Namespace) -> int:
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.agents import registry
    from ossa_hooks.agents import runner as agents

    repo = git.repo_paths()
    rec = registry.get(repo, args.id)
    from pathlib import Path

    from ossa_hooks.agents.budget import BudgetExceeded
    from ossa_hooks.errors import OssaError

    cfg = config_mod.load(Path(rec.worktree))
    if args.interactive:
        from ossa_hooks.agents import session

        session.start(repo, cfg, args.id, args.message)
        return 0
    if args.message is None:
        raise OssaError("agents run needs --message TEXT (or --interactive)")
    try:
        result = agents.run_message(repo, cfg, args.id, args.message)
    except BudgetExceeded as e:
        if e.output:  # the call happened and overran: show its answer, then the escalation
            print(e.output.rstrip("\n"))
        raise
    print(result.text.rstrip("\n"))
    cost = f", ${result.usage.cost_usd:.4f}" if result.usage.cost_usd is not None else ""
    print(f"ossa: {args.id}: {result.usage.prompt:,} prompt + {result.usage.output:,} output "
          f"tokens ({result.usage.source}){cost}, {result.seconds:.1f} s")
    return 0


def main_attach(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import session

    return session.attach(git.repo_paths(), args.id)


def main_terminate(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.agents import registry

    print(registry.terminate(git.repo_paths(), args.id, args.grace))
    return 0


def main_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ossa_hooks import git
    from ossa_hooks.agents import manifest
    from ossa_hooks.agents import specs

    path = Path(args.name)
    if not path.exists():
        path = specs.spec_path(git.repo_paths().worktree, args.name)
    spec = specs.load_spec(path)
    text = ("# OSSA Agent manifest exported by ossa-hooks from " + str(path) + "\n"
            + manifest.dump(manifest.export(spec)))
    emit(text, args.output)
    return 0
