"""``ossa-hooks audit``."""

from __future__ import annotations

import argparse
import json

from ossa_hooks.commands import SubParsers

DEFAULT_LIMIT = 50


def register(sub: SubParsers) -> None:
    p = sub.add_parser("audit", help="list the audit trail's events")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit", "-n", type=int, default=DEFAULT_LIMIT,
                   help=f"newest N events (default {DEFAULT_LIMIT}; 0: all)")
    p.add_argument("--name", help="only events of this hook or command")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ossa_hooks import audit
    from ossa_hooks import git
    from ossa_hooks.errors import OssaError

    if args.limit < 0:
        raise OssaError(f"--limit must be 0 (all events) or more, not {args.limit}")
    repo = git.repo_paths()
    events = audit.events(repo, limit=args.limit or None, name=args.name)
    if args.format == "json":
        print(json.dumps([e.as_json() for e in events], indent=2, ensure_ascii=False))
    else:
        print(audit.format_text(events))
        if args.limit and len(events) == args.limit:
            print(f"(the last {args.limit} events; -n N shows N, -n 0 all)")
    return 0
