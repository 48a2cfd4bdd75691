"""The command line: argparse and dispatch only. Each sub-command lives in
``ossa_hooks/commands/<name>.py``; its work is imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from collections.abc import Sequence

from ossa_hooks import __version__
from ossa_hooks.errors import handle_errors

# One line per sub-command module, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "install",
    "run",
    "doctor",
    "audit",
    "scan",
    "backup",
    "gitignore",
    "judge",
    "trust",
    "budget",
    "agents",
    "spawn",
    "workflow",
    "worktree",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ossa-hooks",
        description="Git hooks and worktrees that make multi-agent development safe.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 usage or configuration error.",
    )
    parser.add_argument("--version", action="version", version=f"ossa-hooks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"ossa_hooks.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr if args.command else sys.stdout)
        return 0 if args.command is None else 2
    start = time.perf_counter()
    code = handle_errors(lambda: func(args))
    if args.command not in _NOT_AUDITED:
        _audit(args.command, code, time.perf_counter() - start)
    return code


# `run` records its own event (one per hook run); `audit` only reads the trail.
_NOT_AUDITED = frozenset({"run", "audit"})


def _audit(command: str, code: int, seconds: float) -> None:
    """Every command leaves one event in the trail of the repository it ran in, if any."""
    from ossa_hooks import audit
    from ossa_hooks import git
    from ossa_hooks.errors import OssaError

    try:
        repo = git.repo_paths()
    except OssaError:
        return
    audit.record(repo, "command", command, code, seconds, {"argv": sys.argv[1:]})


if __name__ == "__main__":
    raise SystemExit(main())
