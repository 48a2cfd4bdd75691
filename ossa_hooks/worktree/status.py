"""What ``worktree list`` tells of an agent worktree beyond git's own list: its position
against the commit it was created from, its lock and lease, and the judge's verdict on its
own head (not on a commit it merely shares with its base)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree import lease as leases
from ossa_hooks.worktree.records import _rev
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import is_ancestor


@dataclass(frozen=True, slots=True)
class Position:
    """Commits of the branch since its fork point (``ahead``) and commits its base branch
    gained since (``behind``); ``fork``: the recorded base commit, else the merge base."""

    ahead: int | None
    behind: int | None
    fork: str | None
    recorded: bool


def position(cwd: Path, head: str, base: str | None, recorded: str | None) -> Position:
    """Where ``head`` stands against the commit it was created from (a new worktree is +0,
    whatever the integration branch holds). The recorded base commit counts while the branch
    has not taken in newer commits of its base (a merge or rebase); then, or without a record,
    the merge base with the base branch does."""
    base_ref = f"refs/heads/{base}" if base and branch_exists(cwd, base) else None
    full = _rev(cwd, recorded) if recorded else None
    fork = full if full is not None and is_ancestor(cwd, full, head) else None
    if base_ref is not None:
        proc = git.run(["merge-base", head, base_ref], cwd, check=False)
        newer = proc.stdout.decode().strip() or None if proc.returncode == 0 else None
        if newer is not None and (fork is None or (newer != fork
                                                   and is_ancestor(cwd, fork, newer))):
            fork = newer
    if fork is None:
        return Position(None, None, None, False)
    ahead = int(git.out(["rev-list", "--count", f"{fork}..{head}"], cwd))
    behind = (int(git.out(["rev-list", "--count", f"{head}..{base_ref}"], cwd))
              if base_ref is not None else None)
    return Position(ahead, behind, fork, fork == full)


def has_own_commits(cwd: Path, head: str, fork: str | None) -> bool:
    """Does the branch's head hold work of its own? Not while it is (or has the tree of) its
    fork commit: a judge's verdict on it then is the base's, not the task's."""
    if fork is None or fork == head:
        return False
    trees = git.out(["rev-parse", f"{head}^{{tree}}", f"{fork}^{{tree}}"], cwd).split()
    return not (len(trees) == 2 and trees[0] == trees[1])


def lock_of(path: Path) -> str | None:
    """git's lock reason of the worktree ("" when locked without one); None when unlocked."""
    return leases.lock_reason(path)


def lease_of(repo: RepoPaths, path: Path) -> dict[str, Any] | None:
    """The worktree's lease, live or stale, as plain values; None without one."""
    held = leases.read(repo, path)
    if held is None:
        return None
    return {"holder": held.holder, "pid": held.pid, "agent_id": held.agent_id or None,
            "workflow_id": held.workflow_id or None, "live": leases.is_live(held),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(held.acquired))}


def lock_cell(reason: str | None) -> str:
    """The LOCK column: "-", "lease" (the lock a lease holds), or the reason a person gave."""
    if reason is None:
        return "-"
    if reason.startswith(leases.REASON_PREFIX):
        return "lease"
    return _clip(reason or "locked", 24)


def lease_cell(held: dict[str, Any] | None) -> str:
    """The LEASE column: "-", "HOLDER pid N", or "stale: HOLDER" (its process is gone)."""
    if held is None:
        return "-"
    if not held["live"]:
        return _clip(f"stale: {held['holder']}", 28)
    return _clip(f"{held['holder']} pid {held['pid']}", 28)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
