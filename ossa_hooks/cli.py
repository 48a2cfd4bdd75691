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
    "trash",
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
    _add_level_options(parser, default=False)
    # Not "command": a sub-command may have an option of that name (`agents spawn --command`).
    sub = parser.add_subparsers(dest="ossa_command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"ossa_hooks.commands.{name}").register(sub)
    for child in _subparsers(parser):
        _add_level_options(child, default=argparse.SUPPRESS)
    return parser


def _add_level_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--quiet`` and ``--verbose``, accepted before or after any (sub-)command name.

    On sub-commands their default is SUPPRESS, so an option given before the command name is
    not reset by the sub-command's parser."""
    level = parser.add_mutually_exclusive_group()
    level.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="print nothing but errors and warnings (stderr)")
    level.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="show each git command run and the details of an unexpected error")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command's parser, at any depth (``backup``, ``backup create``, ...)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.append(child)
                found.extend(_subparsers(child))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    from ossa_hooks import output

    output.setup_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr if args.ossa_command else sys.stdout)
        return 0 if args.ossa_command is None else 2
    output.set_level(quiet=args.quiet, verbose=args.verbose)
    start = time.perf_counter()
    if args.quiet:
        code = _quietly(lambda: handle_errors(lambda: func(args)))
    else:
        code = handle_errors(lambda: func(args))
    if args.ossa_command not in _NOT_AUDITED:
        _audit(args, list(sys.argv[1:] if argv is None else argv), code,
               time.perf_counter() - start)
    return code


def _quietly(func: Callable[[], int]) -> int:
    """Run ``func`` with standard output going nowhere (``--quiet``); stderr is untouched."""
    import os

    saved = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stdout = null
        try:
            return func()
        finally:
            sys.stdout = saved


# `run` records its own event (one per hook run).
_NOT_AUDITED = frozenset({"run"})


def _audit(args: argparse.Namespace, argv: list[str], code: int, seconds: float) -> None:
    """Every command leaves one event in the trail of the repository it ran in, if any:
    the one its ``--repo`` names, else the current folder's."""
    from ossa_hooks import audit
    from ossa_hooks import git
    from ossa_hooks.errors import OssaError

    try:
        repo = git.repo_paths(getattr(args, "repo", None))
    except OssaError:
        return
    audit.record(repo, "command", args.ossa_command, code, seconds, {"argv": argv})


if __name__ == "__main__":
    raise SystemExit(main())
