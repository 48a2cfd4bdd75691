"""backup prune on real repositories: keep the newest, merged ones, ask on a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from test_backup_snapshot import _conflicted_merge
from test_backup_snapshot import backup_refs
from test_backup_snapshot import snap

from ossa_hooks.backup import prune as prune_mod
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.git import repo_paths


def test_prune_keeps_the_newest(committed_repo: Path) -> None:
    names = []
    for i in range(4):
        (committed_repo / "x").write_text(f"{i}\n")
        names.append(snap(committed_repo))
    proc = ossa(committed_repo, "backup", "prune", "--keep", "2")
    assert proc.returncode == 0
    assert sorted(backup_refs(committed_repo)) == sorted(names[2:])
    assert "2 snapshots deleted" in proc.stdout


def test_prune_merged_removes_what_the_branch_already_has(committed_repo: Path) -> None:
    repo = committed_repo
    (repo / "feature.txt").write_text("done\n")
    done = snap(repo)
    (repo / "feature.txt").write_text("half\n")
    half = snap(repo)
    (repo / "feature.txt").write_text("done\n")
    git(repo, "add", "feature.txt")
    git(repo, "commit", "-q", "-m", "feature")
    paths = repo_paths(repo)
    # Not on a terminal: only a report, nothing deleted.
    assert prune_mod.prune(paths, merged=True, ask=True) == []
    assert len(backup_refs(repo)) == 2
    assert prune_mod.prune(paths, merged=True) == [done]
    assert list(backup_refs(repo)) == [half]


def test_prune_asks_on_a_terminal(committed_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (committed_repo / "x").write_text("1\n")
    first = snap(committed_repo)
    (committed_repo / "x").write_text("2\n")
    snap(committed_repo)
    questions: list[str] = []
    monkeypatch.setattr(prune_mod, "_ask", lambda q: questions.append(q) or False)
    assert prune_mod.prune(repo_paths(committed_repo), keep=1, ask=True) == []
    monkeypatch.setattr(prune_mod, "_ask", lambda q: True)
    assert prune_mod.prune(repo_paths(committed_repo), keep=1, ask=True) == [first]
    assert questions and first in questions[0]


def test_prune_never_counts_away_conflict_parkings(committed_repo: Path) -> None:
    _conflicted_merge(committed_repo)
    parked = backup.park(repo_paths(committed_repo), reason="test")
    (committed_repo / "x").write_text("x\n")
    snap(committed_repo)
    deleted = prune_mod.prune(repo_paths(committed_repo), keep=0)
    assert parked not in deleted and len(deleted) == 1


