"""``worktree cleanup`` and the post-merge sweep: merge back, then move the worktree to the
trash and delete its branch when another branch holds it; the budget report of what was
finished. The safety rules themselves are in :mod:`ossa_hooks.worktree.safety`."""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.backup import trash
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.hook_context import HookContext
from ossa_hooks.worktree import lease
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
from ossa_hooks.worktree.records import agent_branch
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import current_branch
from ossa_hooks.worktree.records import is_ancestor
from ossa_hooks.worktree.records import validate_name
from ossa_hooks.worktree.safety import delete_branch
from ossa_hooks.worktree.safety import in_use
from ossa_hooks.worktree.safety import lifecycle_lock
from ossa_hooks.worktree.safety import move_to_trash
from ossa_hooks.worktree.safety import recorded_base

# --- cleanup ---------------------------------------------------------------------------------

# Called with the branch before it is merged back; raises OssaError to refuse the merge.
MergeGate = Callable[[str, Echo], None]
# The text to print after the merge of these branches ("" for nothing).
Report = Callable[[list[str]], str]


def cleanup(
    repo: RepoPaths,
    config: Config,
    repo_name: str | None,
    agent: str,
    task: str,
    *,
    merge_gate: MergeGate | None,
    merge: bool = True,
    force: bool = False,
    interactive: bool | None = None,
    echo: Echo = print,
    report: Report | None = None,
) -> int:
    """Snapshot, merge ``agents/AGENT/TASK`` back, move its worktree to the trash and delete
    its branch (when another branch holds its tip). One lifecycle per repository at a time;
    a worktree in use is never touched. The merge waits for ``merge_gate(branch, echo)``
    (the judge's, ``judge.trusted.merge_gate_for``: a caller must say which gate, even none,
    and only a caller that does not merge may pass None); ``report(branches)`` gives the text
    printed after the merge (the token budget report)."""
    start = time.perf_counter()
    validate_name("AGENT", agent)
    validate_name("TASK", task)
    if repo_name:
        validate_name("REPO", repo_name)
    branch = agent_branch(agent, task)
    # An ossa-hooks worktree by its branch; one another tool made (adopted) by the agent and
    # task it was adopted for, with the branch that tool gave it.
    wt = next((w for w in agent_worktrees(repo, config)
               if w.branch == branch or (w.agent, w.task) == (agent, task)), None)
    if wt is not None:
        branch = wt.branch
    if wt is None and not branch_exists(_cwd(repo), branch):
        raise OssaError(f"no agent worktree or branch {branch} (see: ossa-hooks worktree list)")
    if wt is not None and repo_name and wt.repo_name != repo_name:
        raise OssaError(f"{branch} is a worktree of repository {wt.repo_name!r}, not"
                        f" {repo_name!r}: run `ossa-hooks worktree cleanup {agent} {task}`")
    if wt is not None:
        # Cleaning up the worktree one stands in: work from the main worktree instead.
        repo = _outside(repo, wt.path)
    with lifecycle_lock(repo, echo=echo):
        trash.recover(repo)  # a move a killed run left half-done, before git prunes its record
        present = wt is not None and not wt.missing and wt.path.is_dir()
        if wt is not None and present:
            busy = in_use(repo, wt.path)
            if busy:
                raise OssaError(
                    f"{wt.path} is in use ({'; '.join(busy)}): nothing was removed; run this"
                    " again when it is done", code=EXIT_FAILED)
        held = (lease.held(repo, wt.path, f"worktree cleanup {agent} {task}", echo=echo)
                if wt is not None and present else contextlib.nullcontext())
        with held:
            merged_into = _cleanup_locked(repo, config, wt, branch, agent, task, merge=merge,
                                          force=force, echo=echo, start=start,
                                          merge_gate=merge_gate, report=report)
    _offer_snapshot_prune(repo, interactive, echo)
    _audit(repo, "cleanup", 0, start, {"branch": branch, "merged_into": merged_into,
                                       "path": str(wt.path) if wt else None})
    return 0


def _cleanup_locked(repo: RepoPaths, config: Config, wt: AgentWorktree | None, branch: str,
                    agent: str, task: str, *, merge: bool, force: bool, echo: Echo,
                    start: float, merge_gate: MergeGate | None,
                    report: Report | None) -> str | None:
    cwd = _cwd(repo)
    if wt is not None and not wt.missing and wt.path.is_dir():
        saved: str | None = None
        try:
            saved = backup.snapshot(git.repo_paths(wt.path), hook="worktree-cleanup",
                                    message=f"before worktree cleanup {agent} {task}",
                                    config=config)
        except backup.SnapshotFailed as e:
            if not force:
                raise OssaError(f"{e.message}; nothing was removed. --force moves the"
                                " worktree to the trash whole (every file kept)",
                                code=EXIT_FAILED) from None
            echo(f"{e.message}; the trash keeps the whole folder")
        if saved:
            echo(f"snapshot: {saved}")
        dirty = changes(wt.path)
        if dirty and not force:
            where = f" (saved on {saved})" if saved else ""
            raise OssaError(
                f"{wt.path} has uncommitted changes in {len(dirty)} path(s){where}: commit them on"
                f" {branch}, or use --force to move it to the trash anyway",
                code=EXIT_FAILED,
            )
    base = _trusted_base(repo, config, branch)
    merged_into: str | None = None
    if merge:
        if merge_gate is None:
            raise ValueError("worktree cleanup: a merge needs its gate")
        merge_gate(branch, echo)
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
        text = report([branch]) if report is not None else ""
        if text:
            echo(text.rstrip("\n"))
    if wt is not None:
        move_to_trash(repo, config, wt.path, reason=f"worktree cleanup {agent} {task}", echo=echo)
    git.run(["worktree", "prune"], cwd)
    delete_branch(repo, branch, echo)
    return merged_into


def _trusted_base(repo: RepoPaths, config: Config, branch: str) -> str:
    """The base recorded when the worktree was made (the common dir, never ``.env``), else
    the configured or main worktree's branch."""
    base, _ = recorded_base(repo, branch)
    return base or _default_base(repo, config)


def _remove_worktree(
    repo: RepoPaths, config: Config, path: Path, *, echo: Echo, snapshot: bool
) -> None:
    """Move ``path`` to the trash (a snapshot first when ``snapshot``; a failed one is said,
    the trash keeps every file anyway)."""
    if snapshot and path.is_dir():
        try:
            saved = backup.snapshot(git.repo_paths(path), hook="worktree-replace",
                                    message="before replacing the worktree", config=config)
        except backup.SnapshotFailed as e:
            saved = None
            echo(f"{e.message}; the trash keeps the whole folder")
        if saved:
            echo(f"snapshot: {saved}")
    with lifecycle_lock(repo, echo=echo):
        move_to_trash(repo, config, path, reason="worktree replaced", echo=echo)


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


def sweep(repo: RepoPaths, config: Config, into: str = "HEAD", *,
          echo: Echo | None = None) -> Sweep:
    """Move to the trash the agent worktrees whose branches are merged into ``into`` (a
    branch: a merge into a detached HEAD finishes nothing) and that are clean and unused.

    A worktree whose branch has no commit of its own yet (still at its base commit) is not
    "merged", it is unstarted, and is left alone without a word.
    """
    here = repo.toplevel.resolve() if repo.toplevel is not None else None
    cwd = _cwd(repo)
    if into == "HEAD":
        if repo.toplevel is None or current_branch(repo.toplevel) is None:
            return Sweep((), ())
        into = f"refs/heads/{current_branch(repo.toplevel)}"
    removed: list[AgentWorktree] = []
    kept: list[tuple[AgentWorktree, str]] = []
    with lifecycle_lock(repo, echo=echo):
        trash.recover(repo)
        for wt in agent_worktrees(repo, config):
            if here is not None and wt.path.resolve() == here:
                continue
            why = _why_keep(repo, cwd, wt, into)
            if why == "":
                continue
            if why is not None:
                kept.append((wt, why))
                continue
            try:
                move_to_trash(repo, config, wt.path, reason=f"merged into {into}", echo=_silent)
                delete_branch(repo, wt.branch, _silent)
            except OssaError as e:  # one stuck worktree must not stop the others
                kept.append((wt, f"not removed: {e.message}"))
                continue
            removed.append(wt)
    return Sweep(tuple(removed), tuple(kept))


def _why_keep(repo: RepoPaths, cwd: Path, wt: AgentWorktree, into: str) -> str | None:
    """Why the sweep leaves ``wt``: None to remove it, "" to pass it by without a word."""
    _, recorded = recorded_base(repo, wt.branch)
    fork = recorded or _creation_commit(cwd, wt.branch)
    if fork is None or _same_commit(cwd, fork, wt.head):
        return ""
    if not is_ancestor(cwd, wt.head, into):
        return "not merged"
    busy = in_use(repo, wt.path) if not wt.missing else []
    if busy:
        return "in use: " + "; ".join(busy)
    try:
        if not wt.missing and changes(wt.path):
            return "uncommitted changes"
    except OssaError as e:
        return f"cannot tell its changes: {e.message}"
    return None


def hook(ctx: HookContext) -> int:
    """post-merge (``ossa-cleanup``): move merged, clean, unused agent worktrees to the trash;
    report the rest."""
    start = time.perf_counter()
    repo = ctx.repo
    if repo.toplevel is None:
        return 0
    # A merge into an agent branch (an agent taking another's work) finishes no task: the
    # other agent may still be working in its worktree.
    if (current_branch(repo.toplevel) or "").startswith(BRANCH_PREFIX):
        return 0
    result = sweep(repo, ctx.config, echo=lambda line: print(f"ossa-cleanup: {line}"))
    for wt in result.removed:
        print(f"ossa-cleanup: moved {wt.path} to the trash and deleted branch {wt.branch}"
              " (merged)")
    if result.kept:
        kept = ", ".join(f"{wt.branch} ({why})" for wt, why in result.kept)
        print(f"ossa-cleanup: kept {kept}")
    if result.removed:
        _audit(repo, "sweep", 0, start, {"removed": [wt.branch for wt in result.removed],
                                        "kept": {wt.branch: why for wt, why in result.kept}})
    return 0
