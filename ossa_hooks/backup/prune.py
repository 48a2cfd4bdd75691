"""``backup prune``: delete old snapshots (the newest N kept, conflict parkings never counted
away) or those whose content the current branch already holds; their pushed copies too."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ossa_hooks import git
from ossa_hooks.backup.refs import REF_PREFIX
from ossa_hooks.backup.refs import Snapshot
from ossa_hooks.backup.refs import _head
from ossa_hooks.backup.refs import changes
from ossa_hooks.backup.refs import snapshots
from ossa_hooks.backup.refs import worktree_of
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError


def prune(
    repo: git.RepoPaths,
    *,
    keep: int | None = None,
    merged: bool = False,
    ask: bool = False,
    config: Config | None = None,
) -> list[str]:
    """Delete snapshots; returns the deleted branch names.

    ``keep``: keep the newest N auto-saves (conflict parkings are never counted away).
    ``merged``: delete snapshots whose content is already in the current branch.
    ``ask``: ask on a terminal first; with no terminal only report what could go.
    Copies pushed to ``backup.remote`` (known by their remote-tracking branches) are deleted
    there too, in the background like the push.
    """
    snaps = snapshots(repo)
    doomed: dict[str, Snapshot] = {}
    if keep is not None:
        if keep < 0:
            raise OssaError("--keep must be 0 or more")
        autos = [s for s in snaps if s.kind == "auto-save"]
        doomed.update((s.branch, s) for s in autos[keep:])
    if merged:
        rest = [s for s in snaps if s.branch not in doomed]
        doomed.update((s.branch, s) for s in _merged(repo, rest))
    if not doomed:
        return []
    names = sorted(doomed)
    if ask:
        answer = _ask(f"delete {len(names)} backup snapshot(s) ({_short_list(names)})? [y/N] ")
        if answer is None:
            print(f"ossa-hooks: {len(names)} backup snapshot(s) can go ({_short_list(names)});"
                  " `ossa-hooks backup prune --merged` removes them", file=sys.stderr)
            return []
        if not answer:
            return []
    deleted = _delete(repo, [doomed[n] for n in names])
    from ossa_hooks.backup import push

    push.forget_remote_copies(repo, deleted, config)
    return deleted


def _short_list(names: Sequence[str], limit: int = 3) -> str:
    head = ", ".join(names[:limit])
    return head + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _ask(question: str) -> bool | None:
    """A yes/no answer from the terminal; None when there is no terminal to ask."""
    if not sys.stderr.isatty():
        return None
    try:
        with open("/dev/tty", "r+", encoding="utf-8") as tty:
            tty.write(question)
            tty.flush()
            return tty.readline().strip().lower() in ("y", "yes")
    except OSError:
        return None


def _merged(repo: git.RepoPaths, snaps: Sequence[Snapshot]) -> list[Snapshot]:
    """Snapshots whose changed files are, byte for byte, what the current branch holds."""
    if not snaps:
        return []
    worktree = worktree_of(repo)
    head, _ = _head(worktree)
    if head is None:
        return []
    listing = git.run(["ls-tree", "-r", "-z", "--full-tree", head], worktree).stdout
    in_head: dict[str, tuple[str, str]] = {}
    for entry in listing.split(b"\x00"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, _, blob = meta.decode().split(" ")
        in_head[os.fsdecode(path)] = (mode, blob)
    found = []
    by_commit = changes(repo, snaps)
    for s in snaps:
        diff = by_commit.get(s.commit, [])
        if diff and all(
            (c[3] not in in_head) if c[0] == "D" else in_head.get(c[3]) == (c[1], c[2])
            for c in diff
        ):
            found.append(s)
    return found


def _delete(repo: git.RepoPaths, snaps: Sequence[Snapshot]) -> list[str]:
    lines = b"".join(
        f"delete {REF_PREFIX}{s.branch}\0{s.commit}\0".encode("utf-8", "surrogateescape")
        for s in snaps
    )
    proc = git.run(["update-ref", "-z", "--stdin"], repo.common_dir_str, input=lines,
                   check=False)
    if proc.returncode == 0:
        return [s.branch for s in snaps]
    # One moved or vanished under us: delete the others one by one.
    deleted = []
    for s in snaps:
        if git.run(["update-ref", "-d", REF_PREFIX + s.branch, s.commit], repo.common_dir_str,
                   check=False).returncode == 0:
            deleted.append(s.branch)
    return deleted


