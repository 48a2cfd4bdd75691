"""The gate worktree: one detached worktree per repository (per concurrent judge: a slot),
checked out at the commit to judge, whose files are kept between judgements, so that bytecode,
pytest's and ruff's caches survive and a new commit costs only the files it changed.

It lives in the user's cache folder (``$XDG_CACHE_HOME/ossa-hooks/gate/NAME-REPOKEY-SLOT``),
outside the repository, so no tool looking upwards for its configuration finds the user's
working copy. git knows it only while a judgement runs: afterwards its administrative entry
(``.git/worktrees/ID``) is removed and its index kept beside it, so ``git worktree list``, and
every tool that reads it, sees the user's worktrees only. Before each judgement it is
registered again and reset: ``checkout --force --detach`` and ``clean`` of everything not
tracked except the caches named in :data:`KEEP`.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.judge.checks import git_cwd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ossa_hooks.git import RepoPaths

# Untracked folders kept from one judgement to the next: caches keyed by content or mtime.
KEEP = (".pytest_cache", ".ruff_cache", ".mypy_cache", "__pycache__", ".hypothesis")
SLOTS = 32
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")

# Content-derived mtimes start here (2000-01-01); a blob id's first 7 hex digits add < 9 years.
_MTIME_EPOCH = 946_684_800


def gate_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ossa-hooks" / "gate"


@contextmanager
def gate_worktree(repo: RepoPaths, commit: str) -> Iterator[Path]:
    """The repository's gate worktree at ``commit``, held for this judgement (a lock per slot:
    judges of the same repository running at once get separate worktrees)."""
    with _slot(repo) as (tree, reusable):
        try:
            if reusable and tree.is_dir():
                try:
                    _register(repo, tree, commit)
                    _reset(tree, commit)
                except (git.GitError, OSError):
                    _discard(repo, tree)
                    _add_worktree(repo, tree, commit)
            else:
                _discard(repo, tree)
                _add_worktree(repo, tree, commit)
            _stable_mtimes(repo, commit, tree)
            # The index learns the new mtimes once, so later status checks do not rehash.
            git.run(["update-index", "-q", "--refresh"], tree, check=False)
            yield tree
        finally:
            from ossa_hooks.judge.runner import signals_ignored

            with signals_ignored():
                if reusable:
                    _unregister(tree)
                else:
                    import shutil

                    _discard(repo, tree)
                    shutil.rmtree(tree.parent, ignore_errors=True)


def _register(repo: RepoPaths, tree: Path, commit: str) -> None:
    """Make ``tree`` a worktree of ``repo`` again (what ``git worktree add`` writes, see
    gitrepository-layout), with the index the last judgement left."""
    admin = Path(repo.common_dir_str) / "worktrees" / tree.name
    admin.mkdir(parents=True, exist_ok=True)
    (admin / "commondir").write_text("../..\n")
    (admin / "gitdir").write_text(f"{tree / '.git'}\n")
    (admin / "HEAD").write_text(f"{commit}\n")
    saved = _saved_index(tree)
    if saved.exists():
        os.replace(saved, admin / "index")
    (tree / ".git").write_text(f"gitdir: {admin}\n")


def _unregister(tree: Path) -> None:
    """Forget ``tree`` in git (its files stay), keeping its index beside it."""
    import shutil

    try:
        pointer = (tree / ".git").read_text().strip()
    except OSError:
        return
    if not pointer.startswith("gitdir: "):
        return
    admin = Path(pointer[len("gitdir: "):])
    try:
        if (admin / "index").exists():
            os.replace(admin / "index", _saved_index(tree))
        (tree / ".git").unlink()
    except OSError:
        pass
    shutil.rmtree(admin, ignore_errors=True)


def _saved_index(tree: Path) -> Path:
    return tree.with_name(f"{tree.name}.index")


@contextmanager
def _slot(repo: RepoPaths) -> Iterator[tuple[Path, bool]]:
    """(worktree path, reusable): slot 0 unless it is taken by a judge running now."""
    import fcntl
    import hashlib
    import tempfile

    locks = os.path.join(repo.state_dir_str, "judge-slots")
    os.makedirs(locks, exist_ok=True)
    key = hashlib.sha256(os.fsencode(os.path.realpath(repo.common_dir_str))).hexdigest()[:12]
    root = gate_root()
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        usable = root.is_dir() and not root.is_symlink() and os.access(root, os.W_OK)
    except OSError:
        usable = False
    for slot in range(SLOTS if usable else 0):
        fd = os.open(os.path.join(locks, f"{slot}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            yield root / f"{_name(repo)}-{key}-{slot}", True
        finally:
            os.close(fd)  # releases the slot's lock
        return
    yield Path(tempfile.mkdtemp(prefix="ossa-judge-")) / "tree", False


def _name(repo: RepoPaths) -> str:
    top = repo.toplevel_str or repo.common_dir_str
    base = os.path.basename(os.path.dirname(repo.common_dir_str.rstrip(os.sep))
                            if repo.common_dir_str.rstrip(os.sep).endswith(".git") else top)
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in base).strip("-.")
    return safe[:40] or "repo"


def _reset(tree: Path, commit: str) -> None:
    git.run([*NO_HOOKS, "checkout", "--quiet", "--force", "--detach", commit], tree)
    keep = [arg for name in KEEP for arg in ("-e", name)]
    git.run(["clean", "-ffdxq", *keep], tree)


def _discard(repo: RepoPaths, tree: Path) -> None:
    """Remove ``tree`` and git's record of it (both may be gone already)."""
    import shutil

    cwd = git_cwd(repo)
    if (tree / ".git").exists():
        git.run(["worktree", "remove", "--force", "--force", str(tree)], cwd, check=False)
    shutil.rmtree(tree, ignore_errors=True)
    _saved_index(tree).unlink(missing_ok=True)
    git.run(["worktree", "prune"], cwd, check=False)


def _add_worktree(repo: RepoPaths, tree: Path, commit: str) -> None:
    # No hooks in the gate worktree: post-checkout would run ours (or anyone's).
    args = [*NO_HOOKS, "worktree", "add", "--detach", "--quiet", str(tree), commit]
    for attempt in range(3):
        try:
            git.run(args, git_cwd(repo))
            return
        except git.GitError:
            # `git worktree add` reads every entry of .git/worktrees/, and one that another
            # judge is creating at that moment makes it fail ("failed to read ...commondir").
            if attempt == 2:
                raise
            import shutil

            shutil.rmtree(tree, ignore_errors=True)
            git.run(["worktree", "prune"], git_cwd(repo), check=False)
            time.sleep(0.1 * (attempt + 1))


def _stable_mtimes(repo: RepoPaths, commit: str, tree: Path) -> None:
    """Give each ``.py`` file an mtime derived from its blob id. Python validates a cached
    ``.pyc`` by source mtime and size, so unchanged files keep their compiled form across
    checkouts, and a changed file (new blob, new mtime) is recompiled."""
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", commit], git_cwd(repo)).stdout
    base = os.fsencode(tree)
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if not path.endswith(b".py") or len(parts) != 3 or parts[1] != b"blob":
            continue
        stamp = _MTIME_EPOCH + int(parts[2][:7], 16)
        try:
            os.utime(os.path.join(base, path), (stamp, stamp), follow_symlinks=False)
        except OSError:
            pass
