"""``ossa-hooks install`` and ``ossa-hooks uninstall``."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers
from ossa_hooks.config import HOOK_TYPES


def register(sub: SubParsers) -> None:
    p = sub.add_parser("install", help="install the hooks into a repository")
    p.add_argument("--repo", metavar="PATH", help="repository (default: the current folder)")
    p.add_argument(
        "--hook-type", "-t", action="append", default=[], choices=HOOK_TYPES, dest="hook_types",
        help="install only this hook type (repeatable; default: all)",
    )
    p.add_argument("--force", "-f", action="store_true",
                   help="replace a foreign hook even when a .legacy copy already exists")
    p.set_defaults(func=main)
    p = sub.add_parser("uninstall", help="remove the hooks; put back the ones that were there")
    p.add_argument("--repo", metavar="PATH", help="repository (default: the current folder)")
    p.add_argument("--hook-type", "-t", action="append", default=[], choices=HOOK_TYPES,
                   dest="hook_types", help="uninstall only this hook type (repeatable)")
    p.set_defaults(func=main_uninstall)


def main(args: argparse.Namespace) -> int:
    from ossa_hooks.install import install

    return install(args.repo, args.hook_types, force=args.force)


def main_uninstall(args: argparse.Namespace) -> int:
    from ossa_hooks.install import uninstall

    return uninstall(args.repo, args.hook_types)
