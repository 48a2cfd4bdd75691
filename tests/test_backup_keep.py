"""Keep refs on a real repository: a tip kept survives its branch and gc; which branches
hold a commit (never a backup snapshot); prune deletes only what a branch holds, or what is
older than asked."""

from __future__ import annotations

from pathlib import Path

from conftest import git

from ossa_hooks.backup import keep
from ossa_hooks.git import repo_paths


def test_a_kept_tip_outlives_its_branch_and_gc(committed_repo: Path) -> None:
    git(committed_repo, "checkout", "-q", "-b", "work")
    (committed_repo / "w.txt").write_text("w\n")
    git(committed_repo, "add", "w.txt")
    git(committed_repo, "commit", "-q", "-m", "work")
    tip = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    git(committed_repo, "checkout", "-q", "main")
    repo = repo_paths(committed_repo)
    assert keep.on_a_branch(repo, tip, besides="work") == []
    ref = keep.keep(repo, "work", tip)
    assert ref.startswith("refs/ossa-hooks/keep/work/")
    git(committed_repo, "branch", "-D", "work")
    git(committed_repo, "reflog", "expire", "--expire=now", "--all")
    git(committed_repo, "gc", "-q", "--prune=now")
    assert git(committed_repo, "cat-file", "-t", tip).stdout.strip() == "commit"
    [k] = keep.kept(repo)
    assert (k.ref, k.branch, k.commit, k.subject) == (ref, "work", tip, "work")
    assert keep.prune(repo) == []  # no branch holds it: kept
    assert [x.ref for x in keep.prune(repo, older_than_days=0)] == [ref]
    assert keep.kept(repo) == []


def test_snapshots_do_not_count_as_holding_a_commit(committed_repo: Path) -> None:
    head = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    git(committed_repo, "branch", "backup/auto-save-1", head)
    repo = repo_paths(committed_repo)
    assert keep.on_a_branch(repo, head, besides="main") == []
    git(committed_repo, "branch", "other", head)
    assert keep.on_a_branch(repo, head, besides="main") == ["other"]
    ref = keep.keep(repo, "main", head)
    assert keep.keep(repo, "main", head) == ref + "-2"  # same second: a new name
    assert len(keep.prune(repo)) == 2  # `other` and `main` hold it
