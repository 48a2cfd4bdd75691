"""``ossa-hooks run HOOK_TYPE|ACTION_ID [ARGS...]``."""

from __future__ import annotations

import argparse
import sys

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("run", help="run a hook type's actions (what the installed hooks call)")
    p.add_argument("hook", metavar="HOOK_TYPE|ACTION_ID")
    p.add_argument("args", nargs=argparse.REMAINDER,
                   help="git's arguments for the hook (files, under the pre-commit framework)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ossa_hooks.run import run

    hook_args = list(args.args)
    if hook_args[:1] == ["--"]:
        hook_args = hook_args[1:]
    stdin = b""
    if args.hook == "pre-push" and not sys.stdin.isatty():
        stdin = sys.stdin.buffer.read()
    return run(args.hook, hook_args, stdin)
