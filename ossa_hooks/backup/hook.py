"""The ``ossa-backup`` action's front door (post-checkout and pre-rebase).

Most branch checkouts happen with nothing uncommitted. This module tells a working tree that
is HEAD's from one that is not with two read-only git commands and ``os`` alone, so such a
checkout does not pay for importing :mod:`ossa_hooks.backup.snapshot`; any other tree goes to
the full snapshot, which decides.
"""

from __future__ import annotations

import os
import sys

from ossa_hooks import git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.hook_context import Prefetched

# Two questions, asked in parallel, that together say a snapshot would be HEAD's tree.
# Tracked: does any path of HEAD or the index differ in the working tree? A stat change
# counts as a difference, racily clean entries are compared by content, and without the index
# preload `diff-index --quiet` stops at the first difference instead of stat-ing every file
# first. Untracked: is there any file `add -A` would take (not ignored; empty folders are
# never taken)?
_TRACKED_DIFFER = ["-c", "core.preloadIndex=false", "diff-index", "--quiet", "HEAD", "--"]
_UNTRACKED = ["ls-files", "-z", "--others", "--exclude-standard", "--directory",
              "--no-empty-directory"]


# The names of the two questions when the installed shim asks them (``prefetch``).
TRACKED = "backup-tracked"
UNTRACKED = "backup-untracked"


def prefetch(hook_type: str) -> str:
    """Shell lines for the installed shim: ask both questions while the interpreter starts.

    Each prints ``NAME EXIT-STATUS``. The untracked answer is grep's status (0: something to
    take, 1: nothing); a failing ``ls-files`` prints a line, so a failure never reads as
    "nothing". post-checkout asks only for a branch checkout (flag 1).
    """
    import shlex

    def sh(args: list[str]) -> str:
        return " ".join(shlex.quote(a) for a in ["git", *args])

    listing = sh([a for a in _UNTRACKED if a != "-z"])  # grep reads lines
    jobs = (f'        {{ {sh(_TRACKED_DIFFER)} >/dev/null 2>&1; echo "{TRACKED} $?"; }} &\n'
            f"        {{ {{ {listing} 2>/dev/null || echo failed; }} | grep -q .;"
            f' echo "{UNTRACKED} $?"; }} &')
    when = '[ "$3" = 1 ]' if hook_type == "post-checkout" else ":"
    return f"    if {when}; then\n{jobs}\n    fi"


def certainly_clean(worktree: str, prefetched: Prefetched | None = None) -> bool:
    """True when the working tree is HEAD's: a snapshot would hold nothing new.

    About half the cost of the snapshot's ``add -A`` + ``write-tree`` on a temporary index.
    False on any doubt: a difference, an unborn HEAD, any failure (the snapshot decides then).
    ``prefetched``: the answers of the shim, which asked the same questions while the
    interpreter started (``prefetch``); used when it has both.
    """
    if prefetched is not None:
        tracked_status = prefetched.status(TRACKED)
        if tracked_status is not None and tracked_status != 0:
            return False
        untracked_status = prefetched.status(UNTRACKED)
        if tracked_status == 0 and untracked_status is not None:
            return untracked_status == 1
    tracked = git.start(_TRACKED_DIFFER, worktree, stderr=False)
    untracked = git.start(_UNTRACKED, worktree, stderr=False)
    try:
        if git.finish(tracked, check=False).returncode != 0:
            return False
        listed = git.finish(untracked, check=False)
        return listed.returncode == 0 and not listed.stdout
    finally:
        git.cancel(untracked)  # no-op once finished; stops it when the tracked side differs


def hook(ctx: HookContext) -> int:
    """post-checkout (branch checkouts only) and pre-rebase: snapshot uncommitted work."""
    if ctx.hook_type == "post-checkout" and ctx.config.get("backup.watch.enabled"):
        from ossa_hooks.backup import watch

        watch.start_from_hook(ctx.repo, ctx.config)
    if ctx.hook_type == "post-checkout" and ctx.args[2:3] != ("1",):
        return 0  # a file checkout (`git checkout -- file`): flag 0, never a snapshot
    worktree = ctx.repo.toplevel_str
    if worktree is None:
        return 0
    if ctx.hook_type == "post-checkout" and _rebase_in_progress(ctx.repo):
        return 0  # the rebase's own checkouts: its pre-rebase snapshot already holds the work
    # Under the pre-commit framework the unstaged changes are stashed while hooks run.
    stash = None
    if ctx.via_pre_commit:
        from ossa_hooks.hook_context import pre_commit_stash

        stash = pre_commit_stash(ctx.environ)
    if stash is None and certainly_clean(worktree, ctx.prefetched):
        return 0
    from ossa_hooks.backup import snapshot as backup
    from ossa_hooks.errors import OssaError

    try:
        name = backup.snapshot(ctx.repo, hook=ctx.hook_type, config=ctx.config,
                               check_clean=False, patches=(stash,) if stash else ())
    except OssaError as e:
        from ossa_hooks.git import GitUnavailable

        if isinstance(e, GitUnavailable):
            raise  # no git at all: the hook's one line and exit 2 (run.run reports it)
        if ctx.hook_type == "pre-rebase":
            print(f"ossa-hooks: backup: {e.message}; the rebase is stopped so no work is lost"
                  " (SKIP=ossa-backup git rebase … rebases without a snapshot)", file=sys.stderr)
            return 1
        print(f"ossa-hooks: backup: {e.message}", file=sys.stderr)
        return 0
    if name is not None:
        print(f"ossa-hooks: uncommitted work saved to {name}", file=sys.stderr)
    return 0


def _rebase_in_progress(repo: RepoPaths) -> bool:
    return any(os.path.isdir(os.path.join(repo.git_dir_str, d))
               for d in ("rebase-merge", "rebase-apply"))
