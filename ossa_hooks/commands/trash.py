"""``ossa-hooks trash list|restore|empty``: the worktrees cleanup and the post-merge sweep
moved away instead of deleting."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("trash", help="removed worktrees: list, restore, empty")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    ls = verbs.add_parser("list", help="what the trash holds, oldest first")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=list_)

    r = verbs.add_parser("restore", help="put a worktree back and register it with git again")
    r.add_argument("id", metavar="ID", help="an entry's ID (or a unique part of it)")
    r.add_argument("--to", metavar="PATH", help="somewhere else than where it was")
    r.set_defaults(func=restore)

    e = verbs.add_parser("empty", help="delete entries for good (all of them when none named)")
    e.add_argument("ids", nargs="*", metavar="ID")
    e.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    e.set_defaults(func=empty)


def list_(args: argparse.Namespace) -> int:
    import json
    import time

    from ossa_hooks import git
    from ossa_hooks.backup import trash

    repo = git.repo_paths()
    found = trash.entries(repo, sizes=True)
    if args.format == "json":
        print(json.dumps([{"id": e.id, "path": e.path, "branch": e.branch, "head": e.head,
                           "reason": e.reason, "size": e.size, "complete": e.complete,
                           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                 time.localtime(e.time))}
                          for e in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("the trash is empty")
        return 0
    for e in found:
        size = f"{(e.size or 0) / 1048576:.1f} MB"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.time))
        print(f"{e.id}  {when}  {size:>9}  {e.branch or '(detached)'}  {e.path}"
              f"  ({e.reason}{'' if e.complete else ', unfinished'})")
    return 0


def restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ossa_hooks import git
    from ossa_hooks.backup import trash

    repo = git.repo_paths()
    path, note = trash.restore(repo, args.id, to=Path(args.to) if args.to else None)
    print(f"restored {path}")
    if note:
        print(note)
    return 0


def empty(args: argparse.Namespace) -> int:
    import sys

    from ossa_hooks import git
    from ossa_hooks.backup import trash
    from ossa_hooks.errors import OssaError

    repo = git.repo_paths()
    chosen = [trash.find(repo, i) for i in args.ids] if args.ids else trash.entries(repo)
    if not chosen:
        print("the trash is empty")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise OssaError(f"this deletes {len(chosen)} worktree(s) for good: pass --yes")
        answer = input(f"delete {len(chosen)} worktree(s) for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    for e in trash.empty(repo, [e.id for e in chosen]):
        print(f"deleted {e.id} ({e.path})")
    return 0
