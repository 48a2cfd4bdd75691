"""The command line: argparse and dispatch only. Each sub-command's work lives in its module,
imported when that sub-command runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from ossa_hooks import __version__
from ossa_hooks.config import HOOK_TYPES
from ossa_hooks.errors import handle_errors

Adder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _target(parser: argparse.ArgumentParser, target: str) -> None:
    """Dispatch to ``module:function(args) -> int``, imported only when chosen."""
    parser.set_defaults(target=target)


def _add_install(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("install", help="install the hooks into a repository")
    p.add_argument("--repo", metavar="PATH", help="repository (default: the current folder)")
    p.add_argument(
        "--hook-type", "-t", action="append", default=[], choices=HOOK_TYPES, dest="hook_types",
        help="install only this hook type (repeatable; default: all)",
    )
    p.add_argument("--force", "-f", action="store_true",
                   help="replace a foreign hook even when a .legacy copy already exists")
    _target(p, "ossa_hooks.cli_commands:install")
    p = sub.add_parser("uninstall", help="remove the hooks; put back the ones that were there")
    p.add_argument("--repo", metavar="PATH")
    p.add_argument("--hook-type", "-t", action="append", default=[], choices=HOOK_TYPES,
                   dest="hook_types")
    _target(p, "ossa_hooks.cli_commands:uninstall")


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run a hook type's actions (what the installed hooks call)")
    p.add_argument("hook", metavar="HOOK_TYPE|ACTION_ID")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the hook's arguments from git")
    _target(p, "ossa_hooks.cli_commands:run")


def _add_doctor(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="check the hooks of the repository and its worktrees")
    p.add_argument("--repo", metavar="PATH")
    _target(p, "ossa_hooks.cli_commands:doctor")


def _add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="list the audit trail's events")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit", "-n", type=int, default=50, help="newest N events (0: all)")
    p.add_argument("--name", help="only events of this hook or command")
    _target(p, "ossa_hooks.cli_commands:audit")


ADDERS: tuple[Adder, ...] = (
    _add_install,
    _add_run,
    _add_doctor,
    _add_audit,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ossa-hooks",
        description="Git hooks and worktrees for teams of coding agents.",
    )
    parser.add_argument("--version", action="version", version=f"ossa-hooks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in ADDERS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "target", None):
        parser.print_help()
        return 0 if args.command is None else 2
    module_name, _, func_name = args.target.partition(":")

    def call() -> int:
        func: Callable[[Any], int] = getattr(importlib.import_module(module_name), func_name)
        return func(args)

    return handle_errors(call)


if __name__ == "__main__":
    raise SystemExit(main())
