"""``backup restore``: a snapshot's content put back, into the current worktree (refusing to
overwrite anything uncommitted) or into a new worktree."""

from __future__ import annotations

import os
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.backup import tempindex
from ossa_hooks.backup.refs import Change
from ossa_hooks.backup.refs import Snapshot
from ossa_hooks.backup.refs import changes
from ossa_hooks.backup.refs import resolve
from ossa_hooks.backup.refs import worktree_of
from ossa_hooks.errors import OssaError


def restore(repo: git.RepoPaths, name: str, into: Path | None = None) -> tuple[Path, list[str]]:
    """Put snapshot ``name``'s content back; returns the worktree and the paths written.

    With ``into``: a new worktree there, checked out at the snapshot's parent with the
    snapshot's content as uncommitted changes. Without: the files the snapshot changed are
    written into the current worktree, refusing (naming the files) if that would overwrite
    anything uncommitted.
    """
    snap = resolve(repo, name)
    snap_changes = changes(repo, [snap])[snap.commit]
    paths = [c[3] for c in snap_changes]
    if into is not None:
        return _restore_into(repo, snap, into), paths
    worktree = Path(worktree_of(repo))
    blocked = _blocked_paths(repo, snap, snap_changes)
    if blocked:
        shown = ", ".join(blocked[:10]) + (f" and {len(blocked) - 10} more"
                                           if len(blocked) > 10 else "")
        raise OssaError(
            f"restoring {snap.branch} would overwrite uncommitted changes in: {shown}."
            " Commit or stash them, or restore into a new worktree with --into PATH",
            code=1,
        )
    writes = [c[3] for c in snap_changes if c[0] != "D" and c[1] != "160000"]
    deletes = [c[3] for c in snap_changes if c[0] == "D"]
    if writes:
        env = git.no_git_env()
        tempindex.clean_stale(repo.git_dir_str)
        index = tempindex.new_temp_index(repo.git_dir_str, copy=False)
        undo = tempindex.raise_on_signals()
        try:
            env["GIT_INDEX_FILE"] = index
            git.run(["read-tree", snap.commit], worktree, env=env)
            for p in writes:
                _clear_for_write(worktree, p)
            git.run(["checkout-index", "-f", "-z", "--stdin"], worktree, env=env,
                    input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in writes))
        finally:
            tempindex.remove_temp(index)
            undo()
    for p in deletes:
        target = worktree / p
        if _through_symlink(worktree, p):
            continue  # what it leads to is not this worktree's: never delete through it
        if target.is_symlink() or target.is_file():
            target.unlink()
    return worktree, paths


def _through_symlink(worktree: Path, path: str) -> bool:
    """True when a folder on the way to ``path`` (inside ``worktree``) is a symlink."""
    parts = path.split("/")
    return any(worktree.joinpath(*parts[:i]).is_symlink() for i in range(1, len(parts)))


def _clear_for_write(worktree: Path, path: str) -> None:
    """Remove a file or symlink in the way of ``path``'s parent folders (checkout-index fails)."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        here = worktree.joinpath(*parts[:i])
        if here.is_symlink() or here.is_file():
            here.unlink()
            return


def _restore_into(repo: git.RepoPaths, snap: Snapshot, into: Path) -> Path:
    target = into.resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OssaError(f"{target} exists and is not empty: choose a new folder for --into")
    # No hooks: the new worktree's post-checkout would only snapshot a clean tree.
    git.run(["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "-q", str(target),
             snap.commit], repo.worktree)
    if snap.parent:
        git.run(["reset", "-q", "--no-refresh", snap.parent], target)
    return target


def _blocked_paths(repo: git.RepoPaths, snap: Snapshot, snap_changes: list[Change]) -> list[str]:
    """Paths the restore would write or delete whose current content is not committed."""
    worktree = Path(worktree_of(repo))
    dirty = _uncommitted(worktree)
    if not dirty:
        return []
    targets = {c[3]: c for c in snap_changes}
    blocked = []
    for path in sorted(dirty):
        hit = [path] if path in targets else []
        if not hit:
            prefix = path.rstrip("/") + "/"
            hit = [t for t in targets if t.startswith(prefix)]  # a folder in the way
            parent = [t for t in targets if path.startswith(t + "/")]
            hit += parent
        for t in hit:
            if not _already_equal(worktree, targets[t]):
                blocked.append(path)
                break
    return blocked


def _uncommitted(worktree: Path) -> set[str]:
    """Paths whose working-tree state is not in HEAD: modified, staged, untracked, ignored."""
    data = git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all",
                    "--ignored=matching", "--no-renames"], worktree).stdout
    found = set()
    for entry in data.split(b"\x00"):
        if len(entry) > 3:
            found.add(os.fsdecode(entry[3:]))
    return found


def _already_equal(worktree: Path, change: Change) -> bool:
    status, mode, blob, path = change
    target = worktree / path
    if status == "D":
        return not (target.exists() or target.is_symlink())
    if mode == "120000":
        if not target.is_symlink():
            return False
        want = git.run(["cat-file", "blob", blob], worktree).stdout
        return os.fsencode(os.readlink(target)) == want
    if target.is_symlink() or not target.is_file():
        return False
    if mode == "100755" and not os.access(target, os.X_OK):
        return False
    got = git.out(["hash-object", "--path", path, "--", str(target)], worktree)
    return got == blob


