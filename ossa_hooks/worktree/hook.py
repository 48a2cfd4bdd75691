"""The ``ossa-cleanup`` post-merge action's front door.

Most merges happen in repositories, or on branches, with no agent worktree to clean up. This
module answers that from the files under the git dir, with ``os`` alone, so such a merge does
not pay for importing :mod:`ossa_hooks.worktree.cleanup` (pathlib, dataclasses, tempfile,
...: several times the cost of the hook itself). Anything it cannot read plainly goes to the
full check.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.hook_context import HookContext

_AGENT_REF = b"ref: refs/heads/agents/"


def _head(git_dir: str) -> bytes | None:
    """The first bytes of a worktree's HEAD file (None when unreadable)."""
    try:
        with open(os.path.join(git_dir, "HEAD"), "rb") as f:
            return f.read(200)
    except OSError:
        return None


def _plain(head: bytes | None) -> bool:
    """A HEAD this module can read: a symbolic ref to a real branch, or a commit id."""
    if head is None:
        return False
    if head.startswith(b"ref: refs/heads/"):
        return not head.startswith(b"ref: refs/heads/.invalid")  # reftable's placeholder
    return len(head.strip()) in (40, 64)


def may_have_work(common_dir: str, git_dir: str) -> bool:
    """False only when surely nothing is to clean: this worktree is on an agent branch (a
    merge into an agent branch finishes no task), or no linked worktree is on one."""
    here = _head(git_dir)
    if _plain(here) and here is not None and here.startswith(_AGENT_REF):
        return False
    folder = os.path.join(common_dir, "worktrees")
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    for name in names:
        head = _head(os.path.join(folder, name))
        if not _plain(head) or (head is not None and head.startswith(_AGENT_REF)):
            return True
        # A worktree another tool made, adopted as an agent's (ossa_hooks.worktree.adopt).
        if os.path.exists(os.path.join(folder, name, "ossa-adopted.json")):
            return True
    return False


def hook(ctx: HookContext) -> int:
    """post-merge: see :func:`ossa_hooks.worktree.cleanup.hook`; returns at once when nothing
    to do."""
    repo = ctx.repo
    if repo.toplevel_str is None or not may_have_work(repo.common_dir_str, repo.git_dir_str):
        return 0
    from ossa_hooks.worktree.cleanup import hook as sweep_hook

    return sweep_hook(ctx)
