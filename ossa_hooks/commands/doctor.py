"""``ossa-hooks doctor``."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("doctor", help="check the hooks of the repository and its worktrees")
    p.add_argument("--repo", metavar="PATH", help="repository (default: the current folder)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--fix", action="store_true",
                   help="repair what a check knows how to repair, then check again")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ossa_hooks.doctor import doctor

    return doctor(args.repo, fmt=args.format, fix=args.fix)
