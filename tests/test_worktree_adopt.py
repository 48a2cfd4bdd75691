"""Worktrees other tools make for agents (Claude Code's `.claude/worktrees/`, worktrunk's
`../REPO.BRANCH`), adopted automatically or with `worktree adopt`, on real repositories: the
record, `worktree list`, `doctor`, the hooks' view of them, and the post-merge clean-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.git import repo_paths
from ossa_hooks.worktree import adopt

CONFIG = (
    "hooks:\n  pre-commit: [ossa-guard]\n  pre-push: [ossa-guard]\n"
    "  post-checkout: [ossa-guard]\n  pre-rebase: []\n  post-merge: [ossa-cleanup]\n"
    "  reference-transaction: [ossa-guard]\n"
)


@pytest.fixture
def proj(committed_repo: Path) -> Path:
    assert ossa(committed_repo, "install").returncode == 0
    (committed_repo / ".ossa-hooks.yaml").write_text(CONFIG)
    (committed_repo / ".gitignore").write_text(".claude/\n.worktrees/\n")
    git(committed_repo, "add", "-A")
    git(committed_repo, "commit", "-q", "-m", "config")
    return committed_repo


def test_a_claude_code_worktree_is_adopted_when_git_makes_it(proj: Path) -> None:
    path = proj / ".claude" / "worktrees" / "fix-typo"
    proc = git(proj, "worktree", "add", str(path), "-b", "worktree-fix-typo")
    assert (f"ossa-hooks: adopted {path} as an agent worktree (agent claude, task fix-typo"
            " (claude-code, adopted by a person))") in proc.stderr
    record = adopt.read(path)
    assert record is not None
    assert (record.branch, record.agent, record.task, record.tool) == (
        "worktree-fix-typo", "claude", "fix-typo", "claude-code")
    rows = json.loads(ossa(proj, "worktree", "list", "--format", "json").stdout)
    assert [(r["agent"], r["task"], r["branch"]) for r in rows] == [
        ("claude", "fix-typo", "worktree-fix-typo")]
    doctor = ossa(proj, "doctor").stdout
    assert f"ok      {path}: adopted agent worktree: agent claude, task fix-typo" in doctor
    # The record lives in the worktree's admin folder: it goes with the worktree.
    git(proj, "worktree", "remove", str(path))
    assert adopt.all_adopted(repo_paths(proj)) == []


def test_a_worktrunk_worktree_is_adopted_with_its_branch_as_task(proj: Path) -> None:
    path = proj.parent / f"{proj.name}.feature-login"
    proc = git(proj, "worktree", "add", str(path), "-b", "feature/login")
    assert "adopted" in proc.stderr
    record = adopt.read(path)
    assert record is not None and (record.agent, record.task, record.tool) == (
        "worktrunk", "feature-login", "worktrunk")


def test_adopt_by_hand(proj: Path, tmp_path: Path) -> None:
    path = tmp_path / "scratch"
    git(proj, "worktree", "add", "-q", str(path), "-b", "scratch")
    assert adopt.read(path) is None  # no known layout: not adopted on its own
    proc = ossa(proj, "worktree", "adopt", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"ossa-hooks: {path} is in no layout ossa-hooks knows:"
                                   " name its agent with --agent NAME (and --task NAME)")
    proc = ossa(proj, "worktree", "adopt", str(path), "--agent", "aider", "--task", "docs")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"adopted {path} (scratch): agent aider, task docs"
                                   " (manual, adopted by a person)")
    events = json.loads(ossa(proj, "audit", "--name", "adopt", "--format", "json").stdout)
    assert events[-1]["detail"]["agent"] == "aider"
    proc = ossa(proj, "worktree", "adopt", str(path), "--forget")
    assert proc.stdout.strip() == f"{path}: adoption forgotten"
    assert adopt.read(path) is None


def test_what_cannot_be_adopted(proj: Path, tmp_path: Path) -> None:
    def fails(*args: str) -> str:
        proc = ossa(proj, "worktree", "adopt", *args, "--agent", "x")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        return proc.stderr

    assert "is the main worktree" in fails(str(proj))
    assert "is not a worktree of this repository" in fails(str(tmp_path))
    assert ossa(proj, "worktree", "create", "coder", "t1").returncode == 0
    assert "already an ossa-hooks agent worktree (agents/coder/t1)" in fails(
        str(proj / ".worktrees" / "repo-space__coder__t1"))


def test_a_process_in_an_adopted_worktree_is_warned_never_refused(proj: Path) -> None:
    path = proj / ".claude" / "worktrees" / "fix-typo"
    git(proj, "worktree", "add", "-q", str(path), "-b", "worktree-fix-typo")
    proc = git(path, "switch", "-c", "side", check=False)
    assert proc.returncode == 0
    assert "ossa-hooks: guard: warning [leave-branch]" in proc.stderr
    proc = git(path, "commit", "--allow-empty", "-m", "on side", check=False)
    assert proc.returncode == 0
    assert "ossa-hooks: guard: warning [own-branch]" in proc.stderr
    events = json.loads(ossa(proj, "audit", "--limit", "0", "--format", "json").stdout)
    warned = [e for e in events if e["kind"] == "guard"]
    assert [(e["name"], e["outcome"]) for e in warned] == [("leave-branch", "warned"),
                                                           ("own-branch", "warned")]
    assert warned[0]["detail"]["agent_id"] == "claude@claude-code"


def test_a_merged_adopted_worktree_is_cleaned_up_after_the_merge(proj: Path) -> None:
    path = proj / ".claude" / "worktrees" / "fix-typo"
    git(proj, "worktree", "add", "-q", str(path), "-b", "worktree-fix-typo")
    (path / "typo.txt").write_text("fixed\n")
    git(path, "add", "typo.txt")
    git(path, "commit", "-q", "-m", "fix the typo")
    proc = git(proj, "merge", "-q", "--no-edit", "worktree-fix-typo")
    assert not path.exists(), proc.stderr
    assert git(proj, "branch", "--list", "worktree-fix-typo").stdout == ""


def test_doctor_notes_a_known_layout_made_before_the_hooks(committed_repo: Path) -> None:
    path = committed_repo / ".claude" / "worktrees" / "old"
    git(committed_repo, "worktree", "add", "-q", str(path), "-b", "worktree-old")
    proc = ossa(committed_repo, "doctor")
    assert (f"note    {path}: a claude-code worktree, not adopted: its hooks take every process"
            f" in it for a person (run `ossa-hooks worktree adopt {path}`)") in proc.stdout


def test_doctor_says_whether_the_guard_rails_are_active(committed_repo: Path) -> None:
    assert ossa(committed_repo, "install", "-t", "pre-commit", "-t", "pre-push").returncode == 0
    out = ossa(committed_repo, "doctor").stdout
    assert (f"note    {committed_repo}: guard: not active for reference-transaction,"
            " post-checkout (hook not installed) (run `ossa-hooks install`)") in out
    assert ossa(committed_repo, "install").returncode == 0
    (committed_repo / ".ossa-hooks.yaml").write_text("hooks:\n  pre-push: []\n")
    out = ossa(committed_repo, "doctor").stdout
    assert f"note    {committed_repo}: guard: ossa-guard is not in the configured actions of" \
        " pre-push" in out
    (committed_repo / ".ossa-hooks.yaml").unlink()
    out = ossa(committed_repo, "doctor").stdout
    assert f"ok      {committed_repo}: guard rails active (pre-commit, reference-transaction," \
        " pre-push, post-checkout; git 2." in out


def test_worktree_cleanup_finds_an_adopted_worktree_by_its_agent_and_task(proj: Path) -> None:
    """`worktree cleanup claude fix-typo` merges the adopted worktree's own branch
    (`worktree-fix-typo`, not `agents/claude/fix-typo`), then removes worktree and branch."""
    path = proj / ".claude" / "worktrees" / "fix-typo"
    git(proj, "worktree", "add", "-q", str(path), "-b", "worktree-fix-typo")
    (path / "typo.txt").write_text("fixed\n")
    git(path, "add", "typo.txt")
    git(path, "commit", "-q", "-m", "fix the typo")
    tip = git(path, "rev-parse", "HEAD").stdout.strip()
    proc = ossa(proj, "worktree", "cleanup", "claude", "fix-typo", "--no-gate")
    assert proc.returncode == 0, proc.stderr
    # into the integration branch, as any agent worktree
    target = proc.stdout.split("merged worktree-fix-typo into ", 1)[1].split()[0]
    assert target.startswith("main-agents-merge-")
    assert git(proj, "merge-base", "--is-ancestor", tip, target, check=False).returncode == 0
    assert not path.exists()
    assert git(proj, "branch", "--list", "worktree-fix-typo").stdout == ""
    missing = ossa(proj, "worktree", "cleanup", "claude", "no-such-task", "--no-gate")
    assert missing.returncode == 2
    assert "no agent worktree or branch agents/claude/no-such-task" in missing.stderr
