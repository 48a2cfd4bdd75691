"""``ossa-hooks audit``."""

from __future__ import annotations

import argparse
import json

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("audit", help="list the audit trail's events")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit", "-n", type=int, default=50, help="newest N events (0: all)")
    p.add_argument("--name", help="only events of this hook or command")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ossa_hooks import audit
    from ossa_hooks import git

    repo = git.repo_paths()
    events = audit.events(repo, limit=args.limit or None, name=args.name)
    if args.format == "json":
        print(json.dumps([e.as_json() for e in events], indent=2, ensure_ascii=False))
    else:
        print(audit.format_text(events))
    return 0
