"""``worktree list`` columns on real repositories: AHEAD/BEHIND against the recorded base
commit, LOCK, LEASE, and JUDGE only for a verdict on the branch's own head."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks import git as ossa_git
from ossa_hooks.worktree import lease
from ossa_hooks.worktree import status

CONFIG = (
    "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n  pre-rebase: []\n"
    "  post-merge: []\n"
    "judge:\n  checks:\n    tests:\n      run: 'true'\n"
    "    lint:\n      enabled: false\n    security:\n      enabled: false\n"
)


@pytest.fixture
def proj(committed_repo: Path) -> Path:
    (committed_repo / ".ossa-hooks.yaml").write_text(CONFIG)
    git(committed_repo, "add", ".")
    git(committed_repo, "commit", "-q", "-m", "config")
    return committed_repo


def commit(cwd: Path, name: str, text: str = "x\n") -> None:
    (cwd / name).write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", name)


def new_worktree(repo: Path, task: str) -> Path:
    proc = ossa(repo, "worktree", "create", "coder", task)
    assert proc.returncode == 0, proc.stderr
    return repo / ".worktrees" / f"repo-space__coder__{task}"


def rows(repo: Path) -> dict[str, dict[str, Any]]:
    proc = ossa(repo, "worktree", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {r["task"]: r for r in json.loads(proc.stdout)}


def text_row(repo: Path, task: str) -> str:
    out = ossa(repo, "worktree", "list").stdout.splitlines()
    assert out[0].split()[:9] == ["AGENT", "TASK", "BRANCH", "AHEAD/BEHIND", "STATE", "LOCK",
                                  "LEASE", "JUDGE", "TOKENS"]
    [line] = [line for line in out if f"agents/coder/{task} " in line]
    return line


def cell(repo: Path, task: str, column: str) -> str:
    """One column of the text table, cut at the header's column starts."""
    out = ossa(repo, "worktree", "list").stdout.splitlines()
    header = out[0]
    [line] = [line for line in out if f"agents/coder/{task} " in line]
    start = header.index(column)
    end = min((header.index(c) for c in header.split() if header.index(c) > start),
              default=len(line))
    return line[start:end].strip()


def test_new_worktree_is_even_with_its_base_whatever_the_integration_branch(
        proj: Path) -> None:
    # An old integration branch with nine commits the base never got (the +9/-0 of the issue),
    # and a passing verdict on the base commit.
    git(proj, "branch", "main-agents-merge-20000101")
    git(proj, "checkout", "-q", "-b", "scratch")
    for i in range(9):
        commit(proj, f"s{i}.txt")
    git(proj, "checkout", "-q", "main")
    assert ossa(proj, "judge").returncode == 0
    base = git(proj, "rev-parse", "HEAD").stdout.strip()
    new_worktree(proj, "t1")
    row = rows(proj)["t1"]
    assert (row["ahead"], row["behind"]) == (0, 0)
    assert row["base_commit"] == base and row["base_commit_recorded"] is True
    assert row["verdict"] is None  # that verdict is the base's, not the task's
    assert f"+0/-0 main@{base[:7]}" in text_row(proj, "t1")


def test_ahead_and_behind_count_from_the_recorded_base(proj: Path) -> None:
    path = new_worktree(proj, "t1")
    commit(path, "feature.txt")
    commit(proj, "m1.txt")
    commit(proj, "m2.txt")
    row = rows(proj)["t1"]
    assert (row["ahead"], row["behind"], row["compared_with"]) == (1, 2, "main")


def test_without_a_recorded_base_the_merge_base_counts(proj: Path) -> None:
    path = new_worktree(proj, "t1")
    fork = git(proj, "rev-parse", "HEAD").stdout.strip()
    env = path / ".env"
    env.write_text("".join(line + "\n" for line in env.read_text().splitlines()
                           if not line.startswith("OSSA_BASE_COMMIT=")))
    commit(path, "feature.txt")
    commit(proj, "m1.txt")
    row = rows(proj)["t1"]
    assert (row["ahead"], row["behind"]) == (1, 1)
    assert row["base_commit"] == fork and row["base_commit_recorded"] is False


def test_rebased_branch_counts_from_its_new_fork(proj: Path) -> None:
    path = new_worktree(proj, "t1")
    commit(path, "feature.txt")
    commit(proj, "m1.txt")
    git(path, "rebase", "-q", "main")
    row = rows(proj)["t1"]
    assert (row["ahead"], row["behind"], row["base_commit_recorded"]) == (1, 0, False)


def test_judge_column_shows_the_verdict_on_the_branch_head(proj: Path) -> None:
    path = new_worktree(proj, "t1")
    commit(path, "feature.txt")
    assert rows(proj)["t1"]["verdict"] is None
    proc = ossa(path, "judge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows(proj)["t1"]["verdict"] == "passed"
    assert cell(proj, "t1", "JUDGE") == "passed"


def test_lock_column_shows_a_persons_lock(proj: Path) -> None:
    path = new_worktree(proj, "t1")
    assert cell(proj, "t1", "LOCK") == "-"
    git(proj, "worktree", "lock", "--reason", "on a USB disk", str(path))
    row = rows(proj)["t1"]
    assert row["locked"] is True and row["lock_reason"] == "on a USB disk"
    assert cell(proj, "t1", "LOCK") == "on a USB disk"


def test_lease_column_live_and_stale(proj: Path) -> None:
    path = new_worktree(proj, "t1")
    repo = ossa_git.repo_paths(proj)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lease.acquire(repo, path, "agent coder-1", pid=sleeper.pid, agent_id="coder-1")
        row = rows(proj)["t1"]
        assert row["lease"]["holder"] == "agent coder-1" and row["lease"]["live"] is True
        assert row["lease"]["agent_id"] == "coder-1"
        assert cell(proj, "t1", "LEASE") == f"agent coder-1 pid {sleeper.pid}"
        assert cell(proj, "t1", "LOCK") == "lease"  # the lease's own git lock
    finally:
        sleeper.kill()
        sleeper.wait()
    row = rows(proj)["t1"]
    assert row["lease"]["live"] is False
    assert cell(proj, "t1", "LEASE") == "stale: agent coder-1"


def test_cells() -> None:
    assert status.lock_cell(None) == "-"
    assert status.lock_cell("") == "locked"
    assert status.lock_cell("ossa-hooks: agent x pid 3") == "lease"
    assert status.lock_cell("a very long reason that goes on and on") == (
        "a very long reason that…")
    assert status.lease_cell(None) == "-"
