"""``ossa-hooks spawn "TASK"``."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("spawn", help="write the task's agent specs, workflow and execute-task.sh")
    p.add_argument("task", metavar="TASK", help="what the agents should do")
    p.add_argument("--provider", default=None,
                   choices=("claude-code", "codex", "aider", "command", "python"),
                   help="the agent program of all three agents (default claude-code)")
    p.add_argument("--command", metavar="'PROGRAM ARGS'",
                   help="with --provider command: the program (prompt on stdin)")
    p.add_argument("--module", metavar="PKG.MOD:FUNC",
                   help="with --provider python: the callable that runs the agent")
    p.add_argument("--agent-arg", action="append", default=[], metavar="ARG",
                   help="one more argument for the agent program (repeat it; e.g. "
                        "--agent-arg=--max-turns --agent-arg=20)")
    p.add_argument("--manifest", action="append", default=[], metavar="FILE",
                   help="an OSSA Agent manifest (kind: Agent) for one of the three roles")
    p.add_argument("--here", action="store_true",
                   help="spawn in the main worktree (agents would commit onto its branch)")
    p.add_argument("--force", "-f", action="store_true", help="overwrite existing specs")
    p.add_argument("--interactive", action="store_true",
                   help="then start the coder's CLI in a tmux session named after the task"
                   " (attach: ossa-hooks agents attach ID)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import os

    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.agents import spawn as spawn
    from ossa_hooks.agents.workflow import refuse_main

    repo = git.repo_paths()
    refuse_main(repo, "spawning agents", args.here)
    worktree = repo.worktree
    # --command alone implies --provider command; with another --provider it is an error.
    provider_name = args.provider or ("command" if args.command is not None else "claude-code")
    provider = spawn.provider_value(provider_name, args.command, args.module,
                                     args.agent_arg)
    cfg = config_mod.load(worktree)
    from pathlib import Path

    written = spawn.auto_spawn(repo, cfg, worktree, args.task, provider, force=args.force,
                               manifests=[Path(m) for m in args.manifest])
    for path in written:
        print(f"wrote {os.path.relpath(path, worktree)}")
    if args.interactive:
        from ossa_hooks.agents import session

        session.start_coder(repo, cfg, worktree, args.task)
        return 0
    print("next: .agents-workspace/execute-task.sh   (or: ossa-hooks workflow run)")
    return 0
