"""``worktree cleanup`` and the post-merge sweep: merge back, then remove the worktree and
its branch; the budget report of what was finished."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.hook_context import HookContext
from ossa_hooks.worktree.listing import AgentWorktree
from ossa_hooks.worktree.listing import agent_worktrees
from ossa_hooks.worktree.listing import changes
from ossa_hooks.worktree.merge import MergeConflict
from ossa_hooks.worktree.merge import merge_back
from ossa_hooks.worktree.records import BRANCH_PREFIX
from ossa_hooks.worktree.records import Echo
from ossa_hooks.worktree.records import _audit
from ossa_hooks.worktree.records import _creation_commit
from ossa_hooks.worktree.records import _cwd
from ossa_hooks.worktree.records import _default_base
from ossa_hooks.worktree.records import _outside
from ossa_hooks.worktree.records import _same_commit
from ossa_hooks.worktree.records import _silent
from ossa_hooks.worktree.records import _within
from ossa_hooks.worktree.records import agent_branch
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import current_branch
from ossa_hooks.worktree.records import integration_branch
from ossa_hooks.worktree.records import is_ancestor
from ossa_hooks.worktree.records import main_worktree
from ossa_hooks.worktree.records import validate_name

# --- cleanup ---------------------------------------------------------------------------------


def cleanup(
    repo: RepoPaths,
    config: Config,
    repo_name: str | None,
    agent: str,
    task: str,
    *,
    merge: bool = True,
    force: bool = False,
    interactive: bool | None = None,
    echo: Echo = print,
) -> int:
    """Snapshot, merge ``agents/AGENT/TASK`` back, remove its worktree and branch."""
    start = time.perf_counter()
    validate_name("AGENT", agent)
    validate_name("TASK", task)
    if repo_name:
        validate_name("REPO", repo_name)
    cwd = _cwd(repo)
    branch = agent_branch(agent, task)
    wt = next((w for w in agent_worktrees(repo, config) if w.branch == branch), None)
    if wt is None and not branch_exists(cwd, branch):
        raise OssaError(f"no agent worktree or branch {branch} (see: ossa-hooks worktree list)")
    if wt is not None and repo_name and wt.repo_name != repo_name:
        raise OssaError(f"{branch} is a worktree of repository {wt.repo_name!r}, not"
                        f" {repo_name!r}: run `ossa-hooks worktree cleanup {agent} {task}`")
    if wt is not None:
        # Cleaning up the worktree one stands in: work from the main worktree instead.
        repo = _outside(repo, wt.path)
        cwd = _cwd(repo)
    if wt is not None and wt.locked:
        raise OssaError(f"{wt.path} is locked: `git worktree unlock {shlex.quote(str(wt.path))}`"
                        " first")
    if wt is not None and not wt.missing:
        saved = backup.snapshot(git.repo_paths(wt.path), hook="worktree-cleanup",
                                   message=f"before worktree cleanup {agent} {task}",
                                   config=config)
        if saved:
            echo(f"snapshot: {saved}")
        dirty = changes(wt.path)
        if dirty and not force:
            where = f" (saved on {saved})" if saved else ""
            raise OssaError(
                f"{wt.path} has uncommitted changes in {len(dirty)} path(s){where}: commit them on"
                f" {branch}, or use --force to remove it anyway (the snapshot keeps them)",
                code=EXIT_FAILED,
            )
    base = (wt.base if wt is not None else None) or _default_base(repo, config)
    merged_into: str | None = None
    if merge:
        try:
            result = merge_back(repo, config, branch, base)
        except MergeConflict as e:
            here = shlex.quote(str(wt.path)) if wt is not None and not wt.missing else None
            step = (f"cd {here} && git merge {e.target}, resolve, commit" if here
                    else f"merge {e.target} into {branch}, resolve, commit")
            _audit(repo, "conflict", EXIT_FAILED, start,
                   {"branch": branch, "target": e.target, "parked": e.parked})
            raise OssaError(
                f"{e.message}. Next: {step}, then run `ossa-hooks worktree cleanup {agent} {task}`"
                f" again (see the conflict: git show {e.parked})",
                code=EXIT_FAILED,
            ) from None
        merged_into = result.target
        made = " (created from " + base + ")" if result.created else ""
        echo(f"merged {branch} into {result.target}{made}: {result.kind} ({result.commit[:10]})")
        _print_budget(repo, config, [branch], echo)
    if wt is not None:
        _remove_worktree(repo, config, wt.path, echo=echo, snapshot=False)
    git.run(["worktree", "prune"], cwd)
    _delete_branch(repo, config, branch, base, merged_into, echo)
    _offer_snapshot_prune(repo, interactive, echo)
    _audit(repo, "cleanup", 0, start, {"branch": branch, "merged_into": merged_into,
                                       "path": str(wt.path) if wt else None})
    return 0


def _remove_worktree(
    repo: RepoPaths, config: Config, path: Path, *, echo: Echo, snapshot: bool
) -> None:
    if snapshot and path.is_dir():
        saved = backup.snapshot(git.repo_paths(path), hook="worktree-replace",
                                   message="before replacing the worktree", config=config)
        if saved:
            echo(f"snapshot: {saved}")
    _leave(path, repo, echo)
    cwd = _cwd(repo)
    if path.is_dir():
        git.run(["worktree", "remove", "--force", str(path)], cwd)
    git.run(["worktree", "prune"], cwd)
    echo(f"removed worktree {path}")


def _leave(path: Path, repo: RepoPaths, echo: Echo) -> None:
    """Move this process out of ``path`` before it is deleted."""
    try:
        here = Path.cwd()
    except OSError:
        return
    if _within(here, path):
        away = main_worktree(repo) or repo.common_dir
        os.chdir(away)
        echo(f"note: you were inside it; now: cd {shlex.quote(str(away))}")


def _delete_branch(
    repo: RepoPaths, config: Config, branch: str, base: str, merged_into: str | None, echo: Echo
) -> None:
    cwd = _cwd(repo)
    keep_in = [b for b in (merged_into, integration_branch(config, base), base) if b]
    safe = any(branch_exists(cwd, b) and is_ancestor(cwd, f"refs/heads/{branch}", f"refs/heads/{b}")
               for b in keep_in)
    if not safe:
        echo(f"kept branch {branch}: it is not merged (delete it with: git branch -D {branch})")
        return
    git.run(["branch", "-D", branch], cwd)
    echo(f"deleted branch {branch}")


def _offer_snapshot_prune(repo: RepoPaths, interactive: bool | None, echo: Echo) -> None:
    """Offer to delete snapshots already merged (backup asks on a terminal; without one it
    only says what could go)."""
    if interactive is False or repo.toplevel is None:
        return
    from ossa_hooks.backup import prune as backup_prune

    deleted = backup_prune.prune(repo, merged=True, ask=True)
    if deleted:
        echo(f"pruned {len(deleted)} merged snapshot(s)")


# --- the post-merge hook ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sweep:
    removed: tuple[AgentWorktree, ...]
    kept: tuple[tuple[AgentWorktree, str], ...]


def sweep(repo: RepoPaths, config: Config, into: str = "HEAD") -> Sweep:
    """Remove the agent worktrees whose branches are merged into ``into`` and clean.

    A worktree whose branch has no commit of its own yet (still at its base commit) is not
    "merged", it is unstarted, and is left alone without a word.
    """
    here = repo.toplevel.resolve() if repo.toplevel is not None else None
    cwd = _cwd(repo)
    removed: list[AgentWorktree] = []
    kept: list[tuple[AgentWorktree, str]] = []
    for wt in agent_worktrees(repo, config):
        if here is not None and wt.path.resolve() == here:
            continue
        fork = wt.base_commit or _creation_commit(cwd, wt.branch)
        if fork is None or _same_commit(cwd, fork, wt.head):
            continue
        if not is_ancestor(cwd, wt.head, into):
            kept.append((wt, "not merged"))
            continue
        if wt.locked:
            kept.append((wt, "locked"))
            continue
        if not wt.missing and changes(wt.path):
            kept.append((wt, "uncommitted changes"))
            continue
        try:
            _remove_worktree(repo, config, wt.path, echo=_silent, snapshot=False)
            if is_ancestor(cwd, f"refs/heads/{wt.branch}", into):
                git.run(["branch", "-D", wt.branch], cwd)
        except OssaError as e:  # one stuck worktree must not stop the others
            kept.append((wt, f"not removed: {e.message}"))
            continue
        removed.append(wt)
    return Sweep(tuple(removed), tuple(kept))


def hook(ctx: HookContext) -> int:
    """post-merge (``ossa-cleanup``): remove merged, clean agent worktrees; report the rest."""
    start = time.perf_counter()
    repo = ctx.repo
    if repo.toplevel is None:
        return 0
    # A merge into an agent branch (an agent taking another's work) finishes no task: the
    # other agent may still be working in its worktree.
    if (current_branch(repo.toplevel) or "").startswith(BRANCH_PREFIX):
        return 0
    result = sweep(repo, ctx.config)
    for wt in result.removed:
        print(f"ossa-cleanup: removed {wt.path} and branch {wt.branch} (merged)")
    if result.kept:
        kept = ", ".join(f"{wt.branch} ({why})" for wt, why in result.kept)
        print(f"ossa-cleanup: kept {kept}")
    if result.removed:
        _print_budget(repo, ctx.config, [wt.branch for wt in result.removed], print)
        _audit(repo, "sweep", 0, start, {"removed": [wt.branch for wt in result.removed],
                                        "kept": {wt.branch: why for wt, why in result.kept}})
    return 0


def _print_budget(repo: RepoPaths, config: Config, branches: Sequence[str], echo: Echo) -> None:
    from ossa_hooks.agents import budget as budget
    text = budget.report_for_branches(repo, config, list(branches))
    if text:
        echo(str(text).rstrip("\n"))


