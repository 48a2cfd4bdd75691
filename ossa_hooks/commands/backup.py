"""``ossa-hooks backup create|list|show|restore|prune|park|keep|watch``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ossa_hooks.commands import SubParsers

if TYPE_CHECKING:
    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths


def register(sub: SubParsers) -> None:
    p = sub.add_parser("backup", help="snapshots of uncommitted work: create, list, restore, ...")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    c = verbs.add_parser("create", help="snapshot the working tree now")
    c.add_argument("-m", "--message", help="the snapshot's subject line")
    c.set_defaults(func=create)

    ls = verbs.add_parser("list", help="list the snapshots, newest first")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=list_)

    sh = verbs.add_parser("show", help="where a snapshot came from and the files it holds")
    sh.add_argument("name", metavar="NAME")
    sh.add_argument("-p", "--patch", action="store_true", help="print the full diff too")
    sh.set_defaults(func=show)

    r = verbs.add_parser("restore", help="put a snapshot's content back")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--into", metavar="PATH",
                   help="a new worktree at PATH (default: the current worktree, if nothing"
                        " uncommitted would be overwritten)")
    r.set_defaults(func=restore)

    pr = verbs.add_parser("prune", help="delete old snapshots (default: keep backup.keep)")
    pr.add_argument("--keep", type=int, metavar="N", help="keep the newest N auto-saves")
    pr.add_argument("--merged", action="store_true",
                    help="delete snapshots whose content is already in the current branch")
    pr.set_defaults(func=prune)

    kp = verbs.add_parser("keep", help="keep refs: branch tips saved before their branch went")
    kverbs = kp.add_subparsers(dest="keep_verb", metavar="ACTION", required=True)
    kl = kverbs.add_parser("list", help="every keep ref, newest first")
    kl.add_argument("--format", choices=("text", "json"), default="text")
    kl.set_defaults(func=keep_list)
    kpr = kverbs.add_parser("prune", help="delete keep refs whose commit a branch holds")
    kpr.add_argument("--older-than", type=float, metavar="DAYS",
                     help="also delete those older than DAYS, whatever they hold")
    kpr.set_defaults(func=keep_prune)

    w = verbs.add_parser("watch", help="snapshot the worktree whenever its files change")
    w.add_argument("--debounce", type=float, metavar="SECONDS",
                   help="quiet time before a snapshot (default: backup.watch.debounce_seconds)")
    w.add_argument("--idle", type=float, metavar="MINUTES",
                   help="stop after this long without a change (default:"
                        " backup.watch.idle_minutes)")
    w.add_argument("--background", action="store_true",
                   help="run detached (log: .git/ossa-hooks/watch/watch.log)")
    w.set_defaults(func=watch)

    pk = verbs.add_parser("park", help="move a failed merge onto backup/conflict-* and abort it")
    pk.add_argument("--reason", default="", help="why (kept in the snapshot's message)")
    pk.set_defaults(func=park)


def create(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.backup import snapshot as backup

    repo = git.repo_paths()
    name = backup.snapshot(repo, hook="manual", message=args.message, config=_config(repo))
    if name is None:
        print("nothing to save: the working tree is clean or equals its newest snapshot")
    else:
        print(f"saved {name}")
    return 0


def list_(args: argparse.Namespace) -> int:
    import json
    import time

    from ossa_hooks import git
    from ossa_hooks.backup import snapshot as backup

    repo = git.repo_paths()
    snaps = backup.snapshots(repo)
    counts = {k: len(v) for k, v in backup.changes(repo, snaps).items()}
    if args.format == "json":
        print(json.dumps([
            {
                "name": s.branch,
                "commit": s.commit,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(s.time)),
                "worktree": s.worktree,
                "branch": s.worktree_branch,
                "hook": s.hook,
                "files": counts.get(s.commit, 0),
                "subject": s.subject,
            }
            for s in snaps
        ], indent=2, ensure_ascii=False))
        return 0
    if not snaps:
        print("no snapshots yet")
        return 0
    from ossa_hooks.output import quote_path

    width = max(len(s.branch) for s in snaps)
    now = time.time()
    for s in snaps:
        files = counts.get(s.commit, 0)
        print(f"{s.branch:<{width}}  {_age(now - s.time):>11}  {files:>5} file"
              f"{'' if files == 1 else 's'}  {s.worktree_branch or '?'}"
              f"  {quote_path(s.worktree) if s.worktree else '?'}")
    return 0


def _age(seconds: float) -> str:
    seconds = max(seconds, 0)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 and unit != 'min' else ''} ago"
    return f"{int(seconds)} s ago"


def show(args: argparse.Namespace) -> int:
    import time

    from ossa_hooks import git
    from ossa_hooks.backup import snapshot as backup
    from ossa_hooks.output import quote_path

    repo = git.repo_paths()
    snap = backup.resolve(repo, args.name)
    print(f"{snap.branch}  ({snap.commit[:12]})")
    print(f"  subject:  {snap.subject}")
    print(f"  worktree: {quote_path(snap.worktree) if snap.worktree else '?'}")
    print(f"  branch:   {snap.worktree_branch or '?'}"
          + (f" at {snap.parent[:12]}" if snap.parent else " (no commit yet)"))
    print(f"  hook:     {snap.hook or '?'}")
    print(f"  time:     {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(snap.time))}")
    if snap.reason:
        print(f"  reason:   {snap.reason}")
    diff = backup.changes(repo, [snap])[snap.commit]
    print(f"  files:    {len(diff)}")
    for status, mode, _blob, path in diff:
        note = {"120000": " (symlink)", "100755": " (executable)", "160000": " (submodule)"}
        print(f"    {status} {quote_path(path)}{note.get(mode, '') if status != 'D' else ''}")
    if args.patch:
        import sys

        from ossa_hooks.backup.refs import base_of

        base = base_of(repo, snap)
        data = git.run(["diff", "--no-color", "--no-ext-diff", "--no-renames", base, snap.commit],
                       repo.worktree).stdout
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    return 0


def restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ossa_hooks import git
    from ossa_hooks.backup import restore as restore_mod

    repo = git.repo_paths()
    into = Path(args.into) if args.into else None
    where, paths = restore_mod.restore(repo, args.name, into=into)
    if into is not None:
        print(f"restored {args.name} into a new worktree: {where}")
        print("its files are uncommitted changes on top of the snapshot's base commit")
    else:
        print(f"restored {len(paths)} file{'' if len(paths) == 1 else 's'} from {args.name}"
              f" into {where}")
    return 0


def prune(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.backup import prune as prune_mod

    repo = git.repo_paths()
    keep = args.keep
    if keep is None and not args.merged:
        keep = int(_config(repo).get("backup.keep"))
    deleted = prune_mod.prune(repo, keep=keep, merged=args.merged, config=_config(repo))
    for name in deleted:
        print(f"deleted {name}")
    print(f"{len(deleted)} snapshot{'' if len(deleted) == 1 else 's'} deleted")
    return 0


def park(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.backup import snapshot as backup

    repo = git.repo_paths()
    name = backup.park(repo, reason=args.reason, config=_config(repo))
    print(f"parked the conflicted merge on {name}; the merge is aborted")
    print(f"see it with `ossa-hooks backup show {name}`")
    return 0


def watch(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.backup import watch as watch_mod

    repo = git.repo_paths()
    cfg = _config(repo)
    debounce = args.debounce if args.debounce is not None else float(
        cfg.get("backup.watch.debounce_seconds"))
    idle = args.idle if args.idle is not None else float(cfg.get("backup.watch.idle_minutes"))
    if args.background:
        pid = watch_mod.start_for(repo.worktree, debounce_seconds=debounce, idle_minutes=idle)
        print(f"watching {repo.worktree} in the background (pid {pid})" if pid
              else f"{repo.worktree} is watched already")
        return 0
    made = watch_mod.watch(repo, debounce_seconds=debounce, idle_minutes=idle, echo=print,
                           config=cfg)
    print(f"{made} snapshot{'' if made == 1 else 's'} made")
    return 0


def keep_list(args: argparse.Namespace) -> int:
    import json
    import time

    from ossa_hooks import git
    from ossa_hooks.backup import keep

    found = keep.kept(git.repo_paths())
    if args.format == "json":
        print(json.dumps([{"ref": k.ref, "branch": k.branch, "commit": k.commit,
                           "subject": k.subject} for k in found], indent=2,
                         ensure_ascii=False))
        return 0
    if not found:
        print("no keep refs")
    for k in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(k.time)) if k.time else "?"
        print(f"{k.ref}  {k.commit[:10]}  {when}  {k.subject}")
    return 0


def keep_prune(args: argparse.Namespace) -> int:
    from ossa_hooks import git
    from ossa_hooks.backup import keep

    gone = keep.prune(git.repo_paths(), older_than_days=args.older_than)
    for k in gone:
        print(f"deleted {k.ref} ({k.commit[:10]})")
    print(f"{len(gone)} keep ref{'' if len(gone) == 1 else 's'} deleted")
    return 0


def _config(repo: RepoPaths) -> Config:
    from ossa_hooks import config

    return config.load(repo.toplevel)
