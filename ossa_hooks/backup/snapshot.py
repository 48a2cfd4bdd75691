"""Snapshots of uncommitted work: the ``backup/auto-save-*`` branches and conflict parking.

A snapshot is one commit holding the whole working tree as it is (staged and unstaged changes,
deletions, untracked files that are not ignored) with HEAD as parent. It is built in a
temporary index (``GIT_INDEX_FILE``), so the user's index, working tree and HEAD are never
touched, and stored with ``update-ref`` in create-only mode, so concurrent writers never
overwrite each other.

A snapshot is verified, not assumed: after ``add -A`` the temporary index is compared with the
working tree (``diff-files`` and ``ls-files --others``); a file that is not in it (unreadable,
a full disk, a failed write) makes the whole snapshot a :class:`SnapshotFailed` naming the
paths and why, with no ref, no temporary index and no ``tmp_pack_*`` file left behind.

The hook action is in :mod:`ossa_hooks.backup.hook`, which comes here only when the tree holds
something to save; this module imports only the standard library and ground modules at the top.
Restore, prune and push live in their own modules beside this one.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks import git
from ossa_hooks.backup import tempindex
from ossa_hooks.backup.hook import certainly_clean
from ossa_hooks.backup.refs import _SNAPSHOTS_ARGS
from ossa_hooks.backup.refs import AUTO
from ossa_hooks.backup.refs import CONFLICT
from ossa_hooks.backup.refs import NAMESPACE
from ossa_hooks.backup.refs import REF_PREFIX
from ossa_hooks.backup.refs import Snapshot
from ossa_hooks.backup.refs import _commit_tree
from ossa_hooks.backup.refs import _create_ref
from ossa_hooks.backup.refs import _current_branch
from ossa_hooks.backup.refs import _empty_tree
from ossa_hooks.backup.refs import _git_complaint
from ossa_hooks.backup.refs import _message
from ossa_hooks.backup.refs import _newest_of
from ossa_hooks.backup.refs import _parse_head
from ossa_hooks.backup.refs import _parse_snapshots
from ossa_hooks.backup.refs import _sweep_ref_locks
from ossa_hooks.backup.refs import changes
from ossa_hooks.backup.refs import resolve
from ossa_hooks.backup.refs import snapshots
from ossa_hooks.backup.refs import worktree_of
from ossa_hooks.backup.tempindex import TMP_PREFIX
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ossa_hooks.config import Config

__all__ = ["AUTO", "CONFLICT", "NAMESPACE", "REF_PREFIX", "TMP_PREFIX", "Snapshot",
           "SnapshotFailed", "changes", "park", "resolve", "snapshot", "snapshots"]

# `add` streams every new blob into one pack (git's bulk check-in for "big" files) instead of
# one loose object file each: several times faster when hundreds of files changed, the same
# for a few. --ignore-errors: one unreadable file must not hide which others failed too (the
# verification below names them all).
_ADD_ARGS = ["-c", "core.bigFileThreshold=1", "add", "-A", "--ignore-errors"]
# What the temporary index does not hold after `add`: files that differ from it, and files
# it does not have. A nested repository's own dirt is its business (its gitlink is saved).
_DIFFERS = ["-c", "core.quotePath=false", "diff-files", "--name-only", "-z",
            "--ignore-submodules=dirty"]
_MISSING = ["ls-files", "-z", "--others", "--exclude-standard", "--directory",
            "--no-empty-directory"]


class SnapshotFailed(OssaError):
    """The snapshot could not hold every file: ``paths`` are (path, why); nothing was saved."""

    def __init__(self, worktree: str, paths: Sequence[tuple[str, str]], detail: str = "") -> None:
        self.worktree = worktree
        self.paths = tuple(paths)
        shown = ", ".join(f"{p} ({why})" for p, why in self.paths[:5])
        more = f" and {len(self.paths) - 5} more" if len(self.paths) > 5 else ""
        what = (f"{len(self.paths)} path(s) could not be saved: {shown}{more}" if self.paths
                else detail or "git failed")
        super().__init__(f"snapshot of {worktree} FAILED, nothing saved: {what}",
                         code=EXIT_FAILED)


# --- the snapshot ---------------------------------------------------------------------------


def snapshot(
    repo: git.RepoPaths,
    *,
    hook: str,
    message: str | None = None,
    config: Config | None = None,
    check_clean: bool = True,
    patches: Sequence[str] = (),
) -> str | None:
    """Save the working tree of ``repo.worktree`` on a new ``backup/auto-save-*`` branch.

    Returns the branch name, or None when there was nothing to save: a clean tree, or the same
    tree as the newest snapshot of this worktree. Raises :class:`SnapshotFailed` when a file
    could not be saved. Never prompts. ``check_clean=False``: the caller has just asked
    ``backup.hook.certainly_clean`` (and the tree was not). ``patches``: changes to add on
    top of the working tree (the unstaged changes the pre-commit framework stashed while its
    hooks run).
    """
    saved = _save(repo, kind=AUTO, hook=hook, subject=message, dedupe=True,
                  check_clean=check_clean, patches=patches)
    if saved is not None:
        _maybe_push(repo, saved, config)
    return saved


def park(repo: git.RepoPaths, *, reason: str, config: Config | None = None) -> str:
    """Move a failed merge's state onto ``backup/conflict-*`` and abort the merge.

    The snapshot holds the conflicted files with their markers and has HEAD and the merged
    commit(s) as parents; afterwards the worktree is as it was before the merge began.
    """
    try:
        with open(os.path.join(repo.git_dir_str, "MERGE_HEAD"), encoding="ascii") as f:
            merged = f.read().split()
    except FileNotFoundError:
        raise OssaError("no merge in progress here (no MERGE_HEAD): nothing to park") from None
    title = _merge_title(repo)
    subject = f"conflict parked: {title}" if title else "conflict parked"
    name = _save(repo, kind=CONFLICT, hook="park", subject=subject, dedupe=False,
                 extra_parents=tuple(merged), reason=reason)
    if name is None:  # pragma: no cover - a merge in progress always has extra parents
        raise OssaError("nothing to park: the worktree equals HEAD")
    proc = git.run(["merge", "--abort"], worktree_of(repo), check=False)
    if proc.returncode != 0:
        raise OssaError(
            f"the conflict is saved on {name}, but `git merge --abort` failed"
            f" ({_git_complaint(proc)}): resolve it by hand"
        )
    _maybe_push(repo, name, config)
    return name


def _save(
    repo: git.RepoPaths,
    *,
    kind: str,
    hook: str,
    subject: str | None,
    dedupe: bool,
    extra_parents: tuple[str, ...] = (),
    reason: str = "",
    check_clean: bool = False,
    patches: Sequence[str] = (),
) -> str | None:
    worktree = worktree_of(repo)
    tempindex.clean_stale(repo.git_dir_str)  # also when there is nothing to save
    if check_clean and certainly_clean(worktree):
        return None
    env = git.no_git_env()
    # Read-only questions run while `add` hashes the worktree: HEAD, and (once `add` shows
    # the tree is dirty) the snapshots to compare with.
    head_proc = git.start(["rev-parse", "-q", "HEAD^{commit}", "HEAD^{tree}"], worktree)
    refs_proc = None
    undo = tempindex.raise_on_signals()
    index = ""
    packs = tempindex.tmp_packs(repo.common_dir_str)
    try:
        index = tempindex.new_temp_index(repo.git_dir_str, copy=True)
        env["GIT_INDEX_FILE"] = index
        before = tempindex.stat_key(index)
        add = git.call(_ADD_ARGS, worktree, env=env, check=False)
        if patches:
            # The working tree is checked against the index before the stashed changes go on
            # top: after them the two differ on purpose, and a re-add would drop them.
            missing = _not_in_index(worktree, env)
            unsaved = _verify(worktree, env, add, missing) if missing else []
            _apply_patches(worktree, env, patches)
            missing = set()
        if dedupe and tempindex.stat_key(index) != before:  # `add` changed something
            refs_proc = git.start(_SNAPSHOTS_ARGS, repo.common_dir_str)
        # The check runs while write-tree writes the tree (both only read the index).
        tree_proc = git.start(["write-tree"], worktree, env=env)
        if not patches:
            missing = _not_in_index(worktree, env)
        tree_done = git.finish(tree_proc, check=False)
        if not patches:
            unsaved = _verify(worktree, env, add, missing) if missing else []
            if missing and not unsaved:
                tree_done = git.call(["write-tree"], worktree, env=env, check=False)
        head, head_tree = _parse_head(git.finish(head_proc, check=False))
        refs = git.finish(refs_proc).stdout if refs_proc is not None else None
    except BaseException:
        tempindex.remove_new_packs(repo.common_dir_str, packs)
        raise
    finally:
        for proc in (head_proc, refs_proc):
            if proc is not None:  # no-op once finished; after an interruption, stops it
                git.cancel(proc)
        if index:
            tempindex.remove_temp(index)
        undo()
    if unsaved or tree_done.returncode != 0:
        tempindex.remove_new_packs(repo.common_dir_str, packs)
        raise SnapshotFailed(worktree, unsaved, _complaint(tree_done))
    tree = tree_done.stdout.decode().strip()
    if head_tree is None:
        head_tree = _empty_tree(worktree)
    if tree == head_tree and not extra_parents:
        return None
    if dedupe:
        snaps = _parse_snapshots(refs) if refs is not None else snapshots(repo)
        newest = _newest_of(snaps, worktree, AUTO)
        if newest is not None and newest.tree == tree:
            return None
    now = time.time()
    branch = _current_branch(repo.git_dir_str, head)
    message = _message(subject or f"{kind.rstrip('-')} ({hook}) of {branch} in {worktree}",
                       worktree=worktree, branch=branch, hook=hook, now=now, reason=reason)
    parents = [p for p in (head, *extra_parents) if p]
    try:
        commit = _commit_tree(worktree, tree, parents, message)
        _sweep_ref_locks(repo.common_dir_str)
        return _create_ref(worktree, kind, commit, now, hook)
    except git.GitError as e:  # a full disk or a read-only repository: nothing was stored
        raise SnapshotFailed(worktree, [], e.message) from None


def _complaint(proc: git.Completed) -> str:
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"git write-tree: exit {proc.returncode}"


def _verify(worktree: str, env: dict[str, str], add: git.Completed,
            missing: set[str]) -> list[tuple[str, str]]:
    """(path, why) of each of the ``missing`` files the temporary index still lacks after
    one more ``add``: a file that changed between ``add`` and the check (someone is still
    writing) is saved as it is now; only what is still missing then counts.
    """
    again = git.call([*_ADD_ARGS[:-2], "-A", "--ignore-errors", "--",
                      *(":(literal)" + p.rstrip("/") for p in missing)],
                     worktree, env=env, check=False)
    still = _not_in_index(worktree, env)
    if not still:
        return []
    reasons = _reasons(add.stderr) | _reasons(again.stderr)
    fallback = _last_error(again.stderr) or _last_error(add.stderr) or "not in the snapshot"
    return [(p, reasons.get(p.rstrip("/"), fallback)) for p in sorted(still)]


def _apply_patches(worktree: str, env: dict[str, str], patches: Sequence[str]) -> None:
    """Add ``patches`` (the unstaged changes pre-commit stashed) to the temporary index."""
    for patch in patches:
        applied = git.call(["apply", "--cached", "--whitespace=nowarn", patch], worktree,
                           env=env, check=False)
        if applied.returncode != 0:
            print(f"ossa-hooks: backup: the stashed unstaged changes ({patch}) could not"
                  " be added to the snapshot", file=sys.stderr)


def _not_in_index(worktree: str, env: dict[str, str]) -> set[str]:
    differs = git.start(_DIFFERS, worktree, env=env)
    others = git.call(_MISSING, worktree, env=env, check=False)
    found = set(git.split_z(git.finish(differs, check=False).stdout))
    found.update(git.split_z(others.stdout))
    if others.returncode != 0:
        found.add(".")
    return found


def _reasons(stderr: bytes) -> dict[str, str]:
    """``error: open("PATH"): WHY`` lines of ``git add`` as {PATH: WHY}."""
    found: dict[str, str] = {}
    for line in stderr.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("error: open(\"") and "\"): " in line:
            path, _, why = line[len("error: open(\""):].partition("\"): ")
            found[path] = why.strip()
        elif line.startswith("error: unable to index file '"):
            found.setdefault(line[len("error: unable to index file '"):].rstrip("'"),
                             "git could not read it")
    return found


def _last_error(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines()
             if ln.startswith(("fatal:", "error:"))
             and not ln.startswith(("error: open(", "error: unable to index file"))]
    return lines[-1].split(":", 1)[1].strip() if lines else ""


def _maybe_push(repo: git.RepoPaths, branch: str, config: Config | None) -> None:
    if config is None:
        from ossa_hooks import config as config_mod

        config = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    if not config.get("backup.push"):
        return
    from ossa_hooks.backup import push

    push.start(repo, branch, str(config.get("backup.remote")))


def _merge_title(repo: git.RepoPaths) -> str:
    try:
        with open(os.path.join(repo.git_dir_str, "MERGE_MSG"), encoding="utf-8",
                  errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return text.splitlines()[0].strip() if text.strip() else ""
