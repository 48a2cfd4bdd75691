"""Agent worktrees on real repositories: create / list / cleanup, merge-back, conflicts parked,
the post-merge clean-up hook, names, `.env`, and running from inside a worktree."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks.errors import OssaError
from ossa_hooks.worktree.records import validate_name

TODAY = time.strftime("%Y%m%d")
INTEGRATION = f"main-agents-merge-{TODAY}"
# Only the action under test runs in these repositories' hooks.
QUIET_CONFIG = (
    "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n  pre-rebase: []\n"
    "  post-merge: [ossa-cleanup]\n"
)


@pytest.fixture
def proj(committed_repo: Path) -> Path:
    """A repository on `main` with a quiet config committed (and nothing else ignored)."""
    (committed_repo / ".ossa-hooks.yaml").write_text(QUIET_CONFIG)
    (committed_repo / "app.txt").write_text("line 1\nline 2\nline 3\n")
    git(committed_repo, "add", ".")
    git(committed_repo, "commit", "-q", "-m", "config")
    return committed_repo


def wt_path(repo: Path, agent: str, task: str, name: str = "repo-space") -> Path:
    return repo / ".worktrees" / f"{name}__{agent}__{task}"


def create(cwd: Path, *names: str, ok: bool = True) -> str:
    proc = ossa(cwd, "worktree", "create", *names)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def commit_file(cwd: Path, name: str, text: str, message: str = "work") -> str:
    (cwd / name).write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD").stdout.strip()


def rev(cwd: Path, ref: str) -> str | None:
    proc = git(cwd, "rev-parse", "-q", "--verify", ref, check=False)
    return proc.stdout.strip() or None


def worktree_paths(cwd: Path) -> list[str]:
    out = git(cwd, "worktree", "list", "--porcelain").stdout
    return [line[len("worktree "):] for line in out.splitlines() if line.startswith("worktree ")]


def list_json(cwd: Path) -> list[dict[str, object]]:
    proc = ossa(cwd, "worktree", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def branches(cwd: Path, pattern: str) -> list[str]:
    return git(cwd, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{pattern}"
               ).stdout.split()


# --- create / list / cleanup -------------------------------------------------------------------


def test_create_list_cleanup_round_trip(proj: Path) -> None:
    main_head = rev(proj, "HEAD")
    out = create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    assert out.strip().splitlines()[-1] == f"cd '{path}'"
    assert "created branch agents/coder/t1 from main" in out
    assert git(path, "symbolic-ref", "--short", "HEAD").stdout.strip() == "agents/coder/t1"
    for folder in ("config", "agents", "workflows", "data", "logs", "metrics"):
        assert (path / ".agents-workspace" / folder).is_dir()
    assert "agent: \"coder\"" in (path / ".agents-workspace/config/task.yaml").read_text()
    env = (path / ".env").read_text()
    for key in ("OSSA_REPO_NAME=repo-space", "OSSA_AGENT_TYPE=coder", "OSSA_TASK_NAME=t1",
                "OSSA_TOKEN_BUDGET_TASK=12000", "OSSA_BASE_BRANCH=main",
                "OSSA_BRANCH=agents/coder/t1", f"OSSA_INTEGRATION_BRANCH={INTEGRATION}"):
        assert key + "\n" in env
    # Neither the main worktree nor the new one shows anything to commit.
    assert git(proj, "status", "--porcelain").stdout == ""
    assert git(path, "status", "--porcelain").stdout == ""

    work = commit_file(path, "feature.txt", "new\n")
    [row] = list_json(proj)
    assert row["agent"] == "coder" and row["task"] == "t1" and row["branch"] == "agents/coder/t1"
    assert (row["ahead"], row["behind"], row["state"]) == (1, 0, "clean")
    assert row["token_budget"] == 12000
    text = ossa(proj, "worktree", "list").stdout
    assert "agents/coder/t1" in text and "+1/-0" in text

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert f"merged agents/coder/t1 into {INTEGRATION} (created from main): fast-forward" \
        in proc.stdout
    assert rev(proj, INTEGRATION) == work
    assert rev(proj, "HEAD") == main_head  # main untouched
    assert git(proj, "symbolic-ref", "--short", "HEAD").stdout.strip() == "main"
    assert not (proj / "feature.txt").exists()
    assert not path.exists()
    assert rev(proj, "refs/heads/agents/coder/t1") is None
    assert worktree_paths(proj) == [str(proj)]
    assert list_json(proj) == []


def test_three_argument_form_names_the_folder(proj: Path) -> None:
    out = create(proj, "shop", "coder", "t1")
    path = wt_path(proj, "coder", "t1", name="shop")
    assert path.is_dir() and "OSSA_REPO_NAME=shop\n" in (path / ".env").read_text()
    assert f"cd '{path}'" in out
    proc = ossa(proj, "worktree", "cleanup", "other", "coder", "t1")
    assert proc.returncode == 2 and "repository 'shop'" in proc.stderr
    assert ossa(proj, "worktree", "cleanup", "shop", "coder", "t1").returncode == 0


def test_env_mode_0600_and_never_staged(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    assert stat.S_IMODE((path / ".env").stat().st_mode) == 0o600
    (path / "x.txt").write_text("x\n")
    (path / ".agents-workspace" / "logs" / "run.log").write_text("log\n")
    git(path, "add", "-A")
    staged = git(path, "diff", "--cached", "--name-only").stdout.split()
    assert staged == ["x.txt"]
    # An agent's own new file in the workspace is still visible.
    (path / ".agents-workspace" / "agents" / "coder.yaml").write_text("name: coder\n")
    assert ".agents-workspace/agents/coder.yaml" in git(path, "status", "--porcelain",
                                                        "-uall").stdout


def test_merge_commit_when_integration_moved(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "feature.txt", "new\n")
    git(proj, "branch", INTEGRATION, "main")
    git(proj, "checkout", "-q", INTEGRATION)
    other = commit_file(proj, "other.txt", "other\n")
    git(proj, "checkout", "-q", "main")
    (proj / "scratch.txt").write_text("user's uncommitted file\n")

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert ": merge (" in proc.stdout
    parents = git(proj, "rev-list", "--parents", "-n", "1", INTEGRATION).stdout.split()
    assert len(parents) == 3 and parents[1] == other
    tree = git(proj, "ls-tree", "--name-only", INTEGRATION).stdout.split()
    assert "feature.txt" in tree and "other.txt" in tree
    # The main worktree: same branch, its uncommitted file untouched, no temporary worktree left.
    assert git(proj, "symbolic-ref", "--short", "HEAD").stdout.strip() == "main"
    assert (proj / "scratch.txt").read_text() == "user's uncommitted file\n"
    assert not (proj / "feature.txt").exists()
    assert worktree_paths(proj) == [str(proj)]


def test_conflict_is_parked_with_both_sides_and_nothing_lost(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    agent_tip = commit_file(path, "app.txt", "line 1\nAGENT SIDE\nline 3\n")
    git(proj, "branch", INTEGRATION, "main")
    git(proj, "checkout", "-q", INTEGRATION)
    integ_tip = commit_file(proj, "app.txt", "line 1\nINTEGRATION SIDE\nline 3\n")
    git(proj, "checkout", "-q", "main")

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 1
    assert "conflicts in app.txt" in proc.stderr
    assert "Next: cd" in proc.stderr and f"git merge {INTEGRATION}" in proc.stderr
    [parked] = branches(proj, "backup/conflict-*")
    assert parked in proc.stderr
    content = git(proj, "show", f"{parked}:app.txt").stdout
    assert "AGENT SIDE" in content and "INTEGRATION SIDE" in content and "<<<<<<<" in content
    # Everything else as it was.
    assert rev(proj, INTEGRATION) == integ_tip
    assert rev(proj, "agents/coder/t1") == agent_tip
    assert path.is_dir() and (path / "app.txt").read_text() == "line 1\nAGENT SIDE\nline 3\n"
    assert worktree_paths(proj) == [str(proj), str(path)]
    assert git(proj, "status", "--porcelain").stdout == ""


def test_integration_branch_checked_out_elsewhere(proj: Path, tmp_path: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "feature.txt", "new\n")
    holder = tmp_path / "integration"
    git(proj, "worktree", "add", "-q", "-b", INTEGRATION, str(holder), "main")
    (holder / "app.txt").write_text("dirty\n")

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 1
    assert f"checked out in {holder} with uncommitted changes" in proc.stderr
    assert path.is_dir()

    git(holder, "checkout", "--", "app.txt")
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert (holder / "feature.txt").read_text() == "new\n"  # merged where it is checked out
    assert git(holder, "status", "--porcelain").stdout == ""


def test_cleanup_refuses_uncommitted_changes_unless_forced(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "feature.txt", "new\n")
    (path / "feature.txt").write_text("unsaved edit\n")

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 1
    assert "uncommitted changes" in proc.stderr and "--force" in proc.stderr
    assert path.is_dir() and rev(proj, INTEGRATION) is None
    [snap] = branches(proj, "backup/*")
    assert git(proj, "show", f"{snap}:feature.txt").stdout == "unsaved edit\n"

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1", "--force")
    assert proc.returncode == 0, proc.stderr
    assert not path.exists()
    # The edit survives in a snapshot.
    assert any(git(proj, "show", f"{b}:feature.txt").stdout == "unsaved edit\n"
               for b in branches(proj, "backup/*"))


def test_cleanup_no_merge_keeps_an_unmerged_branch(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "feature.txt", "new\n")
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1", "--no-merge")
    assert proc.returncode == 0, proc.stderr
    assert "kept branch agents/coder/t1: it is not merged" in proc.stdout
    assert not path.exists() and rev(proj, "agents/coder/t1") == tip
    assert rev(proj, INTEGRATION) is None


# --- the post-merge hook --------------------------------------------------------------------------


def test_post_merge_removes_merged_clean_worktrees_only(proj: Path) -> None:
    for task in ("done", "dirty", "fresh"):
        create(proj, "coder", task)
    done, dirty, fresh = (wt_path(proj, "coder", t) for t in ("done", "dirty", "fresh"))
    commit_file(done, "done.txt", "done\n")
    commit_file(dirty, "dirty.txt", "dirty\n")
    (dirty / "dirty.txt").write_text("still editing\n")

    merge = git(proj, "merge", "-q", "--no-edit", "agents/coder/done", "agents/coder/dirty")
    said = merge.stdout + merge.stderr
    assert (f"ossa-cleanup: moved {done} to the trash and deleted branch"
            " agents/coder/done (merged)") in said
    assert "agents/coder/dirty (uncommitted changes)" in said
    assert not done.exists() and rev(proj, "refs/heads/agents/coder/done") is None
    assert dirty.is_dir() and (dirty / "dirty.txt").read_text() == "still editing\n"
    assert fresh.is_dir()  # no commits of its own yet: not "merged", left alone
    assert "fresh" not in said
    events = json.loads(ossa(proj, "audit", "--format", "json", "-n", "0").stdout)
    assert any(e["kind"] == "worktree" and e["name"] == "sweep" for e in events)


def test_post_merge_reports_unmerged(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "feature.txt", "new\n")
    git(proj, "checkout", "-q", "-b", "side")
    commit_file(proj, "side.txt", "side\n")
    git(proj, "checkout", "-q", "main")
    merge = git(proj, "merge", "-q", "--no-edit", "side")
    assert "agents/coder/t1 (not merged)" in merge.stdout + merge.stderr
    assert path.is_dir()


def test_post_merge_inside_an_agent_worktree_removes_nothing(proj: Path) -> None:
    create(proj, "coder", "a")
    create(proj, "coder", "b")
    a, b = wt_path(proj, "coder", "a"), wt_path(proj, "coder", "b")
    commit_file(b, "b.txt", "b\n")
    merge = git(a, "merge", "-q", "--no-edit", "agents/coder/b")
    assert "ossa-cleanup" not in merge.stdout + merge.stderr
    assert b.is_dir() and (a / "b.txt").exists()


def test_cleanup_of_a_worktree_whose_folder_was_deleted(proj: Path) -> None:
    import shutil

    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "f.txt", "f\n")
    shutil.rmtree(path)
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert rev(proj, INTEGRATION) == tip and worktree_paths(proj) == [str(proj)]
    assert rev(proj, "refs/heads/agents/coder/t1") is None


# --- names, existing worktrees, base branch ------------------------------------------------------


@pytest.mark.parametrize("bad", ["a b", "a/b", "..", "-x", "a;rm", "a$b", ".hidden", "x.lock",
                                 "a..b", "ø"])
def test_bad_names_are_refused(proj: Path, bad: str) -> None:
    proc = ossa(proj, "worktree", "create", "--", bad, "t1")
    assert proc.returncode == 2
    assert proc.stderr.startswith("ossa-hooks: invalid AGENT")
    assert "Traceback" not in proc.stderr
    proc = ossa(proj, "worktree", "create", "--", "coder", bad)
    assert proc.returncode == 2 and "invalid TASK" in proc.stderr
    assert branches(proj, "agents/*") == [] and not (proj / ".worktrees").exists()


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_valid_names_make_valid_branches(name: str) -> None:
    import subprocess

    try:
        validate_name("AGENT", name)
    except OssaError:
        return
    proc = subprocess.run(["git", "check-ref-format", "--branch", f"agents/{name}/t"],
                          capture_output=True, check=False)
    assert proc.returncode == 0


def test_existing_worktree_error_and_force(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "feature.txt", "new\n")
    (path / "feature.txt").write_text("uncommitted\n")

    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 2
    assert "already exists" in proc.stderr and "--force" in proc.stderr
    assert "ossa-hooks worktree cleanup coder t1" in proc.stderr

    out = create(proj, "coder", "t1", "--force")
    assert "snapshot: backup/" in out and "reused branch agents/coder/t1" in out
    assert rev(path, "HEAD") == tip and (path / "feature.txt").read_text() == "new\n"
    assert any(git(proj, "show", f"{b}:feature.txt").stdout == "uncommitted\n"
               for b in branches(proj, "backup/*"))


def test_existing_branch_without_worktree(proj: Path) -> None:
    git(proj, "branch", "agents/coder/t1")
    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 2 and "branch agents/coder/t1 already exists" in proc.stderr
    assert ossa(proj, "worktree", "create", "coder", "t1", "--force").returncode == 0


def test_configured_base_branch_is_created_from_head(proj: Path) -> None:
    (proj / ".ossa-hooks.yaml").write_text(QUIET_CONFIG + "base_branch: feature/0.1.0\n")
    git(proj, "commit", "-q", "-am", "base")
    out = create(proj, "coder", "t1")
    assert "created base branch feature/0.1.0 from HEAD" in out
    assert rev(proj, "feature/0.1.0") == rev(proj, "main")
    path = wt_path(proj, "coder", "t1")
    assert "OSSA_BASE_BRANCH=feature/0.1.0\n" in (path / ".env").read_text()
    commit_file(path, "f.txt", "f\n")
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert rev(proj, f"feature/0.1.0-agents-merge-{TODAY}") == rev(proj, "HEAD~0") or \
        "f.txt" in git(proj, "ls-tree", "--name-only",
                       f"feature/0.1.0-agents-merge-{TODAY}").stdout


def test_base_option_and_detached_head(proj: Path) -> None:
    git(proj, "branch", "develop")
    create(proj, "coder", "t1", "--base", "develop")
    assert "OSSA_BASE_BRANCH=develop\n" in (wt_path(proj, "coder", "t1") / ".env").read_text()
    git(proj, "checkout", "-q", "--detach")
    proc = ossa(proj, "worktree", "create", "coder", "t2")
    assert proc.returncode == 2 and "--base" in proc.stderr


def test_a_branch_starts_from_the_commit_checked_out_where_create_runs(proj: Path) -> None:
    create(proj, "coder", "t1")
    first = wt_path(proj, "coder", "t1")
    ahead = commit_file(first, "draft.txt", "draft\n")
    out = create(first, "reviewer", "t2")  # run from inside the coder's worktree
    assert f"created branch agents/reviewer/t2 from agents/coder/t1 ({ahead[:10]})" in out
    env = (wt_path(proj, "reviewer", "t2") / ".env").read_text()
    assert f"OSSA_BASE_COMMIT={ahead}\n" in env and "OSSA_BASE_BRANCH=main\n" in env
    assert rev(proj, "agents/reviewer/t2") == ahead
    events = json.loads(ossa(proj, "audit", "--name", "create", "--format", "json").stdout)
    assert events[-1]["detail"]["base_commit"] == ahead
    assert events[-1]["detail"]["from"] == "agents/coder/t1"
    # --base says otherwise: the base branch's tip.
    out = create(first, "tester", "t3", "--base", "main")
    assert rev(proj, "agents/tester/t3") == rev(proj, "main") != ahead
    # A detached checkout is named by its worktree.
    git(first, "checkout", "-q", "--detach", "HEAD~1")
    out = create(first, "docs", "t4")
    assert f"from HEAD of {first}" in out
    assert rev(proj, "agents/docs/t4") == rev(proj, "main")


def test_repository_without_commits(repo: Path) -> None:
    proc = ossa(repo, "worktree", "create", "coder", "t1")
    assert proc.returncode == 2
    assert "no commits yet" in proc.stderr or "detached" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- from inside a worktree, audit ----------------------------------------------------------------


def test_everything_works_from_inside_an_agent_worktree(proj: Path) -> None:
    create(proj, "coder", "t1")
    first = wt_path(proj, "coder", "t1")
    out = create(first, "reviewer", "t2")
    second = wt_path(proj, "reviewer", "t2")  # beside the first, not nested in it
    assert second.is_dir() and f"cd '{second}'" in out
    assert "OSSA_BASE_BRANCH=main\n" in (second / ".env").read_text()
    assert {r["branch"] for r in list_json(second)} == {"agents/coder/t1",
                                                        "agents/reviewer/t2"}
    commit_file(second, "review.txt", "ok\n")
    proc = ossa(first, "worktree", "cleanup", "reviewer", "t2")
    assert proc.returncode == 0, proc.stderr
    assert not second.exists()
    # Cleaning up the worktree one stands in.
    commit_file(first, "code.txt", "code\n")
    proc = ossa(first, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr
    assert not first.exists()
    tree = git(proj, "ls-tree", "--name-only", INTEGRATION).stdout.split()
    assert "review.txt" in tree and "code.txt" in tree


def test_commands_leave_audit_events(proj: Path) -> None:
    create(proj, "coder", "t1")
    commit_file(wt_path(proj, "coder", "t1"), "f.txt", "f\n")
    assert ossa(proj, "worktree", "cleanup", "coder", "t1").returncode == 0
    events = json.loads(ossa(proj, "audit", "--format", "json", "-n", "0").stdout)
    names = [(e["kind"], e["name"]) for e in events]
    assert ("worktree", "create") in names and ("worktree", "cleanup") in names
    assert names.count(("command", "worktree")) == 2


def test_hooks_installed_in_new_worktree(proj: Path) -> None:
    out = create(proj, "coder", "t1")
    assert "hooks: installed" in out
    hook = proj / ".git" / "hooks" / "post-merge"
    assert os.access(hook, os.X_OK) and sys.executable in hook.read_text()
    out = create(proj, "coder", "t2")
    assert "hooks: active (shared with the repository)" in out


def test_hook_front_door_returns_early_without_agent_worktrees(proj: Path) -> None:
    from ossa_hooks.worktree.hook import may_have_work

    common = proj / ".git"
    assert not may_have_work(str(common), str(common))
    create(proj, "coder", "t1")
    assert may_have_work(str(common), str(common))
    [name] = os.listdir(common / "worktrees")
    # From inside the agent worktree: a merge into an agent branch finishes nothing.
    assert not may_have_work(str(common), str(common / "worktrees" / name))
    # An unreadable HEAD (here: reftable's placeholder) means: do the full check.
    git(proj, "worktree", "remove", "--force", str(wt_path(proj, "coder", "t1")))
    git(proj, "worktree", "add", "-q", "--detach", str(proj.parent / "other"))
    assert not may_have_work(str(common), str(common))
    (common / "worktrees" / "other" / "HEAD").write_text("ref: refs/heads/.invalid\n")
    assert may_have_work(str(common), str(common))


def test_list_shows_the_judge_verdict(proj: Path) -> None:
    (proj / ".ossa-hooks.yaml").write_text(
        QUIET_CONFIG + "judge:\n  checks:\n    tests:\n      run: 'true'\n"
        "    lint:\n      enabled: false\n    security:\n      enabled: false\n"
    )
    git(proj, "commit", "-q", "-am", "judge config")
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "f.txt", "f\n")
    [row] = list_json(proj)
    assert row["verdict"] is None
    proc = ossa(path, "judge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [row] = list_json(proj)
    assert row["verdict"] == "passed"
    assert " passed " in ossa(proj, "worktree", "list").stdout


def test_integration_branch_pattern_from_config(proj: Path) -> None:
    (proj / ".ossa-hooks.yaml").write_text(QUIET_CONFIG + "integration_branch: 'int/{base}'\n")
    git(proj, "commit", "-q", "-am", "pattern")
    create(proj, "coder", "t1")
    tip = commit_file(wt_path(proj, "coder", "t1"), "f.txt", "f\n")
    assert ossa(proj, "worktree", "cleanup", "coder", "t1").returncode == 0
    assert rev(proj, "int/main") == tip
    (proj / ".ossa-hooks.yaml").write_text(QUIET_CONFIG + "integration_branch: '{base}-{day}'\n")
    proc = ossa(proj, "worktree", "create", "coder", "t2")
    assert proc.returncode == 2 and "use {base} and {date}" in proc.stderr
    assert rev(proj, "refs/heads/agents/coder/t2") is None and worktree_paths(proj) == [str(proj)]


def test_a_tracked_env_file_is_refused_and_nothing_is_left(proj: Path) -> None:
    (proj / ".env").write_text("A=1\n")
    git(proj, "add", "-f", ".env")
    git(proj, "commit", "-q", "-m", "oops, .env")
    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 2 and "main tracks .env" in proc.stderr
    assert rev(proj, "refs/heads/agents/coder/t1") is None and worktree_paths(proj) == [str(proj)]
    assert not wt_path(proj, "coder", "t1").exists()
