"""The ossa-backup action: which checkouts and rebases snapshot, and the clean-tree check
that lets most of them skip the snapshot machinery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from test_backup_snapshot import backup_refs
from test_backup_snapshot import base_repo
from test_backup_snapshot import differ
from test_backup_snapshot import install_hooks
from test_backup_snapshot import out
from test_backup_snapshot import show_file

from ossa_hooks.backup import snapshot as backup
from ossa_hooks.backup.hook import certainly_clean
from ossa_hooks.git import repo_paths


def test_branch_checkout_snapshots_file_checkout_does_not(committed_repo: Path) -> None:
    repo = committed_repo
    install_hooks(repo)
    (repo / "README.md").write_text("work in progress\n")
    (repo / "notes.txt").write_text("untracked notes\n")
    proc = git(repo, "checkout", "-b", "topic")
    assert "uncommitted work saved to backup/auto-save-" in proc.stderr
    refs = backup_refs(repo)
    assert len(refs) == 1
    (commit,) = refs.values()
    assert show_file(repo, commit, "README.md") == b"work in progress\n"
    assert show_file(repo, commit, "notes.txt") == b"untracked notes\n"
    assert backup.resolve(repo_paths(repo), next(iter(refs))).hook == "post-checkout"
    # A checkout of a file: post-checkout with flag 0, never a snapshot.
    (repo / "notes.txt").write_text("more notes\n")
    proc = git(repo, "checkout", "--", "README.md")
    assert proc.returncode == 0 and "saved" not in proc.stderr
    assert len(backup_refs(repo)) == 1
    events = json.loads(ossa(repo, "audit", "--format", "json", "-n", "1").stdout)
    assert events[0]["detail"]["args"][2] == "0"
    # The same checkout twice with nothing new: no second snapshot.
    git(repo, "checkout", "-q", "main")
    (repo / "notes.txt").write_text("untracked notes\n")
    git(repo, "checkout", "-q", "topic")
    git(repo, "checkout", "-q", "main")
    trees = {out(repo, "rev-parse", f"{c}^{{tree}}") for c in backup_refs(repo).values()}
    assert len(trees) == len(backup_refs(repo))


def test_worktree_add_runs_the_hook_and_saves_nothing(committed_repo: Path,
                                                      tmp_path: Path) -> None:
    install_hooks(committed_repo)
    proc = git(committed_repo, "worktree", "add", "-q", "-b", "agent", str(tmp_path / "wt"))
    assert proc.returncode == 0, proc.stderr
    assert backup_refs(committed_repo) == {}
    events = json.loads(ossa(committed_repo, "audit", "--format", "json", "-n", "1").stdout)
    assert events[0]["name"] == "post-checkout"
    assert events[0]["detail"]["actions"]["ossa-backup"] == "ok"


def test_pre_rebase_snapshots(committed_repo: Path) -> None:
    repo = committed_repo
    install_hooks(repo)
    git(repo, "checkout", "-q", "-b", "topic")
    (repo / "t.txt").write_text("t\n")
    git(repo, "add", "t.txt")
    git(repo, "commit", "-q", "-m", "t")
    git(repo, "checkout", "-q", "main")
    (repo / "m.txt").write_text("m\n")
    git(repo, "add", "m.txt")
    git(repo, "commit", "-q", "-m", "m")
    git(repo, "checkout", "-q", "topic")
    (repo / "scratch.txt").write_text("untracked scratch\n")  # rebase allows untracked files
    proc = git(repo, "rebase", "main")
    assert proc.returncode == 0, proc.stderr
    snaps = backup.snapshots(repo_paths(repo))
    assert [s.hook for s in snaps] == ["pre-rebase"]
    assert show_file(repo, snaps[0].commit, "scratch.txt") == b"untracked scratch\n"


def test_which_hooks_snapshot_is_config(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("hooks:\n  post-checkout: []\n")
    (committed_repo / "x").write_text("x\n")
    assert ossa(committed_repo, "run", "post-checkout", "a", "b", "1").returncode == 0
    assert backup_refs(committed_repo) == {}
    proc = ossa(committed_repo, "run", "ossa-backup", "a", "b", "1")
    assert proc.returncode == 0 and "saved to backup/" in proc.stderr


def test_a_failed_backup_stops_a_rebase_but_not_a_checkout(committed_repo: Path) -> None:
    git(committed_repo, "branch", "backup")  # makes every snapshot fail
    (committed_repo / "x").write_text("x\n")
    proc = ossa(committed_repo, "run", "ossa-backup", "a", "b", "1")
    assert proc.returncode == 0 and "backup:" in proc.stderr
    proc = ossa(committed_repo, "run", "pre-rebase", "main")
    assert proc.returncode == 1
    assert "SKIP=ossa-backup" in proc.stderr


@pytest.mark.parametrize(("how", "clean"), [
    ("modified", False), ("deleted", False), ("staged only", False), ("untracked", False),
    ("untracked deep", False), ("tracked but ignored", False), ("mode", False),
    ("ignored only", True), ("empty folders only", True),
])
def test_certainly_clean_says_yes_only_for_a_tree_that_is_heads(committed_repo: Path, how: str,
                                                                 clean: bool) -> None:
    repo = base_repo(committed_repo)
    assert certainly_clean(str(repo))
    differ(repo, how)
    assert certainly_clean(str(repo)) == clean


def test_certainly_clean_doubts_what_it_cannot_read(committed_repo: Path,
                                                    tmp_path: Path) -> None:
    unborn = tmp_path / "no commits"
    git(tmp_path, "init", "-q", str(unborn))
    assert not certainly_clean(str(unborn))  # no HEAD yet: the snapshot decides
    assert not certainly_clean(str(tmp_path / "not a repository"))
    git(committed_repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "linked wt"))
    assert certainly_clean(str(tmp_path / "linked wt"))
    (tmp_path / "linked wt" / "new.txt").write_text("new\n")
    assert not certainly_clean(str(tmp_path / "linked wt"))
    assert certainly_clean(str(committed_repo))


def test_a_clean_checkout_loads_no_snapshot_machinery(committed_repo: Path) -> None:
    code = ("import sys; from ossa_hooks import run;"
            " code = run.shim_main(['post-checkout', 'a', 'b', '1']);"
            " print(code, sorted(m for m in ('ossa_hooks.backup.snapshot', 'ossa_hooks.pids',"
            " 'select',"
            " 'subprocess', 'pathlib') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=committed_repo,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout.strip() == "0 []", proc.stderr
    assert backup_refs(committed_repo) == {}


def _traced(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment in which every git command logs its trace2 events."""
    log = tmp_path / "trace2.json"
    return {**os.environ, "GIT_TRACE2_EVENT": str(log)}, log


def _questions(log: Path) -> list[list[str]]:
    """The argv of each clean-tree question git logged. The shim's own run in its working
    directory (no ``-C``); Python's name the worktree with ``-C``."""
    if not log.exists():
        return []
    starts = (json.loads(line) for line in log.read_text().splitlines())
    return [e["argv"] for e in starts if e["event"] == "start"
            and ("diff-index" in e["argv"] or "--others" in e["argv"])]


def test_a_branch_checkout_takes_the_answers_the_shim_asked_for(committed_repo: Path,
                                                                tmp_path: Path) -> None:
    install_hooks(committed_repo)
    env, log = _traced(tmp_path)
    proc = git(committed_repo, "checkout", "-q", "-b", "topic", env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    asked = _questions(log)
    # Both questions asked once, by the shell while Python started, not again by Python.
    assert len(asked) == 2 and not any("-C" in argv for argv in asked), asked
    assert backup_refs(committed_repo) == {}
    (committed_repo / "notes.txt").write_text("work in progress\n")
    proc = git(committed_repo, "checkout", "-q", "main", env=env)
    assert "uncommitted work saved to backup/auto-save-" in proc.stderr
    log.unlink()
    proc = git(committed_repo, "checkout", "-q", "--", "README.md", env=env)  # flag 0
    assert proc.returncode == 0 and proc.stderr == "" and _questions(log) == []


def test_unused_answers_cost_nothing_visible(committed_repo: Path) -> None:
    install_hooks(committed_repo)
    (committed_repo / "notes.txt").write_text("work in progress\n")
    env = {**os.environ, "SKIP": "ossa-backup"}
    proc = git(committed_repo, "checkout", "-q", "-b", "topic", env=env)
    assert proc.returncode == 0
    assert proc.stderr.strip() == "ossa-hooks: ossa-backup: skipped (SKIP)"
    assert backup_refs(committed_repo) == {}


def test_a_hook_started_with_other_git_variables_asks_again(committed_repo: Path,
                                                            tmp_path: Path) -> None:
    install_hooks(committed_repo)
    head = out(committed_repo, "rev-parse", "HEAD")
    (committed_repo / "notes.txt").write_text("work in progress\n")
    hide = tmp_path / "hide"
    hide.write_text("notes.txt\n")
    # As after `git -c core.excludesFile=hide checkout …`: the shim's questions do not see
    # notes.txt; the snapshot ignores such variables, so the hook must ask again itself.
    env = {**os.environ, "GIT_CONFIG_PARAMETERS": f"'core.excludesfile'='{hide}'"}
    proc = subprocess.run([str(committed_repo / ".git" / "hooks" / "post-checkout"), head, head,
                           "1"], cwd=committed_repo, env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "uncommitted work saved to backup/auto-save-" in proc.stderr


def test_in_a_linked_worktree_the_answers_are_its_own(committed_repo: Path,
                                                      tmp_path: Path) -> None:
    install_hooks(committed_repo)
    linked = tmp_path / "agent wt ø"
    git(committed_repo, "worktree", "add", "-q", "-b", "agent", str(linked))
    (committed_repo / "main-only.txt").write_text("uncommitted in the main worktree\n")
    env, log = _traced(tmp_path)
    proc = git(linked, "checkout", "-q", "-b", "agent-2", env=env)  # git sets GIT_DIR here
    assert proc.returncode == 0 and proc.stderr == ""
    assert len(_questions(log)) == 2 and not any("-C" in argv for argv in _questions(log))
    (linked / "wip.txt").write_text("work in progress\n")
    proc = git(linked, "checkout", "-q", "agent", env=env)
    assert "uncommitted work saved to backup/auto-save-" in proc.stderr
    (name,) = backup_refs(committed_repo)
    assert backup.resolve(repo_paths(linked), name).worktree == str(linked)
    assert "wip.txt" in git(linked, "ls-tree", "-r", "--name-only", name).stdout
