"""``worktree list``: the agent worktrees, their changes, position and verdicts."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.config import Config
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree.records import BRANCH_PREFIX
from ossa_hooks.worktree.records import ENV_FILE
from ossa_hooks.worktree.records import SEPARATOR
from ossa_hooks.worktree.records import _cwd
from ossa_hooks.worktree.records import _default_base
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import integration_branch
from ossa_hooks.worktree.records import read_env
from ossa_hooks.worktree.records import recorded_base
from ossa_hooks.worktree.records import worktree_entries

# --- list ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentWorktree:
    """A worktree on an ``agents/AGENT/TASK`` branch, with what its ``.env`` says."""

    path: Path
    agent: str
    task: str
    branch: str
    head: str
    repo_name: str
    base: str | None
    base_commit: str | None
    locked: bool = False
    missing: bool = False
    env: Mapping[str, str] = field(default_factory=dict)


def agent_worktrees(repo: RepoPaths, config: Config) -> list[AgentWorktree]:
    """Every worktree whose branch is ``agents/AGENT/TASK``, in ``git worktree list`` order."""
    from ossa_hooks.worktree import adopt

    found = []
    for e in worktree_entries(_cwd(repo)):
        adopted = adopt.read(e.path) if e.branch and e.head else None
        if adopted is not None and e.branch:  # made by another tool, recorded as an agent's
            agent, task = adopted.agent, adopted.task
        elif not e.branch or not e.branch.startswith(BRANCH_PREFIX) or not e.head:
            continue
        else:
            agent, _, task = e.branch.removeprefix(BRANCH_PREFIX).partition("/")
        if not agent or not task or e.head is None:
            continue
        env = read_env(e.path / ENV_FILE)
        repo_name = env.get("OSSA_REPO_NAME") or e.path.name.split(SEPARATOR)[0]
        found.append(
            AgentWorktree(
                path=e.path,
                agent=agent,
                task=task,
                branch=e.branch,
                head=e.head,
                repo_name=repo_name,
                base=env.get("OSSA_BASE_BRANCH") or None,
                base_commit=recorded_base(e.path, env),
                locked=e.locked,
                missing=e.prunable or not e.path.is_dir(),
                env=env,
            )
        )
    return found


def changes(worktree: Path, *, untracked: bool = True) -> list[str]:
    """Uncommitted paths of ``worktree`` (``git status``; ignored files do not count)."""
    args = ["--no-optional-locks", "status", "--porcelain", "-z",
            "--untracked-files=" + ("normal" if untracked else "no")]
    data = git.run(args, worktree).stdout
    paths, skip = [], False
    for item in git.split_z(data):
        if skip:  # the source path of a rename or copy
            skip = False
            continue
        paths.append(item[3:])
        skip = item[:1] in ("R", "C")
    return paths


def ahead_behind(cwd: Path, target: str, branch: str) -> tuple[int, int]:
    """(commits on ``branch`` not on ``target``, commits on ``target`` not on ``branch``)."""
    text = git.out(["rev-list", "--left-right", "--count", f"{target}...{branch}"], cwd)
    behind, ahead = (int(x) for x in text.split())
    return ahead, behind


def merge_target(repo: RepoPaths, config: Config, wt: AgentWorktree) -> tuple[str, str]:
    """(integration branch name, ref to compare with: it, or the base while it does not exist)."""
    cwd = _cwd(repo)
    base = wt.base or _default_base(repo, config)
    target = integration_branch(config, base)
    return target, target if branch_exists(cwd, target) else base


def describe(repo: RepoPaths, config: Config, *,
             verdict_of: Callable[[str], bool | None] | None = None,
             tokens_of: Callable[[list[str]], Mapping[str, int]] | None = None,
             ) -> list[dict[str, Any]]:
    """One record per agent worktree: what ``worktree list`` shows. ``verdict_of(commit)``
    (the judge's last verdict: passed or not, None without one) and ``tokens_of(branches)``
    (tokens used per task branch) come from the features that keep them."""
    cwd = _cwd(repo)
    worktrees = agent_worktrees(repo, config)
    usage = tokens_of([wt.branch for wt in worktrees]) if tokens_of is not None else {}
    from ossa_hooks.worktree import status

    rows = []
    for wt in worktrees:
        target, _ = merge_target(repo, config, wt)
        base = wt.base or _default_base(repo, config)
        pos = status.position(cwd, wt.head, base, wt.base_commit)
        dirty = None if wt.missing else changes(wt.path)
        passed = (verdict_of(wt.head) if verdict_of is not None
                  and status.has_own_commits(cwd, wt.head, pos.fork) else None)
        verdict = None if passed is None else ("passed" if passed else "failed")
        lock = status.lock_of(wt.path)
        used = usage.get(wt.branch, 0)
        task_budget = wt.env.get("OSSA_TOKEN_BUDGET_TASK") or str(config.get("budget.task"))
        rows.append({
            "path": str(wt.path),
            "repo": wt.repo_name,
            "agent": wt.agent,
            "task": wt.task,
            "branch": wt.branch,
            "base": wt.base,
            "base_commit": pos.fork,
            "base_commit_recorded": pos.recorded,
            "integration_branch": target,
            "compared_with": base,
            "ahead": pos.ahead,
            "behind": pos.behind,
            "state": "missing" if dirty is None else ("dirty" if dirty else "clean"),
            "changes": None if dirty is None else len(dirty),
            "locked": wt.locked,
            "lock_reason": lock,
            "lease": status.lease_of(repo, wt.path),
            "verdict": verdict,
            "tokens_used": used,
            "token_budget": int(task_budget) if task_budget.isdigit() else None,
        })
    return rows


def format_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "no agent worktrees (create one: ossa-hooks worktree create AGENT TASK)"
    from ossa_hooks.worktree import status

    header = ("AGENT", "TASK", "BRANCH", "AHEAD/BEHIND", "STATE", "LOCK", "LEASE", "JUDGE",
              "TOKENS", "PATH")
    table = [header]
    for r in rows:
        behind = "?" if r["behind"] is None else r["behind"]
        since = f"{r['compared_with']}@{r['base_commit'][:7]}" if r["base_commit"] else ""
        ab = "-" if r["ahead"] is None else f"+{r['ahead']}/-{behind} {since}".rstrip()
        state = r["state"] + (f" ({r['changes']})" if r["changes"] else "")
        used = "-" if r["tokens_used"] is None else str(r["tokens_used"])
        cap = "-" if r["token_budget"] is None else str(r["token_budget"])
        lock = status.lock_cell(r["lock_reason"]) if r["locked"] else "-"
        table.append((r["agent"], r["task"], r["branch"], ab, state, lock,
                      status.lease_cell(r["lease"]), r["verdict"] or "-", f"{used}/{cap}",
                      r["path"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in table
    )


