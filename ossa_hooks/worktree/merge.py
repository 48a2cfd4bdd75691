"""Merge-back: an agent branch into the integration branch, in a temporary worktree;
conflicts parked on a backup branch."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.backup.tempindex import raise_on_signals
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree.listing import changes
from ossa_hooks.worktree.records import NO_HOOKS
from ossa_hooks.worktree.records import _check_branch_name
from ossa_hooks.worktree.records import _cwd
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import integration_branch
from ossa_hooks.worktree.records import is_ancestor
from ossa_hooks.worktree.records import worktree_entries
from ossa_hooks.worktree.safety import TMP_DIR
from ossa_hooks.worktree.safety import TMP_PREFIX
from ossa_hooks.worktree.safety import lifecycle_lock
from ossa_hooks.worktree.safety import recover_temporary_worktrees
from ossa_hooks.worktree.safety import remove_temporary

# --- merge-back ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergeResult:
    target: str
    kind: str  # "fast-forward" | "merge" | "up-to-date"
    commit: str
    created: bool
    where: str  # "ref" (no checkout needed), "temporary worktree", or a worktree's path


class MergeConflict(OssaError):
    """The merge conflicted; it was parked on ``parked`` and nothing else changed."""

    def __init__(self, branch: str, target: str, parked: str, files: Sequence[str]) -> None:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        super().__init__(
            f"merging {branch} into {target} conflicts in {shown or 'some files'}; the conflicted"
            f" state is parked on {parked} and nothing else changed",
            code=EXIT_FAILED,
        )
        self.branch = branch
        self.target = target
        self.parked = parked
        self.files = tuple(files)


def merge_back(
    repo: RepoPaths, config: Config, branch: str, base: str, *, today: str | None = None
) -> MergeResult:
    """Merge ``branch`` into the integration branch of ``base`` (created from it when missing).

    The main worktree's branch and files are never touched: a fast-forward of a branch that no
    worktree has checked out is a ref update; a merge commit is made where the integration
    branch is checked out (when that worktree is clean) or in a temporary worktree.
    """
    with lifecycle_lock(repo):
        recover_temporary_worktrees(repo)
        return _merge_back(repo, config, branch, base, today)


def _merge_back(
    repo: RepoPaths, config: Config, branch: str, base: str, today: str | None
) -> MergeResult:
    cwd = _cwd(repo)
    target = _check_branch_name(cwd, integration_branch(config, base, today), "integration_branch")
    created = False
    if not branch_exists(cwd, target):
        if not branch_exists(cwd, base):
            raise OssaError(f"base branch {base} does not exist: pass --base or recreate it")
        git.run(["branch", "--no-track", target, base], cwd)
        created = True
    src = git.out(["rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}"], cwd)
    old = git.out(["rev-parse", "--verify", f"refs/heads/{target}^{{commit}}"], cwd)
    if is_ancestor(cwd, src, old):
        return MergeResult(target, "up-to-date", old, created, "ref")
    holder = next((e for e in worktree_entries(cwd) if e.branch == target and not e.prunable),
                  None)
    if holder is None:
        if is_ancestor(cwd, old, src):
            git.run(["update-ref", "-m", f"ossa-hooks: fast-forward to {branch}",
                     f"refs/heads/{target}", src, old], cwd)
            return MergeResult(target, "fast-forward", src, created, "ref")
        with temporary_worktree(repo, target) as tmp:
            kind, commit = _merge_in(repo, config, tmp, branch, target, src)
        return MergeResult(target, kind, commit, created, "temporary worktree")
    dirty = changes(holder.path, untracked=False)
    if dirty:
        raise OssaError(
            f"{target} is checked out in {holder.path} with uncommitted changes"
            f" ({', '.join(dirty[:3])}): commit or stash them there, then run this again",
            code=EXIT_FAILED,
        )
    kind, commit = _merge_in(repo, config, holder.path, branch, target, src)
    return MergeResult(target, kind, commit, created, str(holder.path))


def _merge_in(
    repo: RepoPaths, config: Config, where: Path, branch: str, target: str, src: str
) -> tuple[str, str]:
    proc = git.run([*NO_HOOKS, "merge", "--ff", "--no-edit", branch], where, check=False)
    if proc.returncode == 0:
        head = git.out(["rev-parse", "HEAD"], where)
        return ("fast-forward" if head == src else "merge"), head
    if not git.ok(["rev-parse", "-q", "--verify", "MERGE_HEAD"], where):
        raise git.GitError(["merge", branch], proc.returncode,
                           (proc.stderr or proc.stdout).decode("utf-8", "replace"))
    files = git.split_z(git.run(["diff", "--name-only", "--diff-filter=U", "-z"], where).stdout)
    parked = backup.park(git.repo_paths(where), reason=f"merge {branch} into {target}",
                            config=config)
    # park aborts the merge; make sure, so the worktree is exactly as before.
    if git.ok(["rev-parse", "-q", "--verify", "MERGE_HEAD"], where):
        git.run(["merge", "--abort"], where, check=False)
    raise MergeConflict(branch, target, parked, files)


@contextmanager
def temporary_worktree(repo: RepoPaths, branch: str) -> Iterator[Path]:
    """``branch`` checked out in a worktree under the state dir; removed afterwards, always."""
    parent = repo.state_dir / TMP_DIR
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=parent))
    cwd = _cwd(repo)
    undo = raise_on_signals()  # SIGTERM/SIGHUP: the `finally` below still runs
    try:
        git.run([*NO_HOOKS, "worktree", "add", "--quiet", str(path), branch], cwd)
        yield path
    finally:
        remove_temporary(repo, path)
        undo()


