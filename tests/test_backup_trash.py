"""The trash on real repositories: a linked worktree moved in and back byte for byte (a
property test over random trees), retention by age and size, symlinks never followed, an
interrupted move finished, doctor's view, `trash empty`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks import config as config_mod
from ossa_hooks.backup import trash
from ossa_hooks.git import repo_paths


def linked(repo: Path, name: str = "wt") -> Path:
    path = repo.parent / "worktrees" / name
    git(repo, "worktree", "add", "-q", "-b", f"work/{name}", str(path))
    return path


def config(**trash_keys: float) -> config_mod.Config:
    data = config_mod.defaults()
    data["backup"]["trash"].update(trash_keys)
    return config_mod.Config(data)


def tree_state(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry below ``root`` except the worktree's own ``.git`` file: kind and bytes."""
    found: dict[str, tuple[str, bytes]] = {}
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            full = Path(here) / name
            rel = str(full.relative_to(root))
            if rel == ".git":
                continue
            if full.is_symlink():
                found[rel] = ("link", os.fsencode(os.readlink(full)))
            elif full.is_dir():
                found[rel] = ("dir", b"")
            else:
                found[rel] = ("file", full.read_bytes())
    return found


def test_put_and_restore_a_linked_worktree(committed_repo: Path) -> None:
    path = linked(committed_repo)
    (path / "new.txt").write_text("untracked\n")
    (path / "README.md").write_text("staged\n")
    git(path, "add", "README.md")
    before = tree_state(path)
    repo = repo_paths(committed_repo)
    entry = trash.put(repo, path, reason="test", branch="work/wt",
                      head=git(path, "rev-parse", "HEAD").stdout.strip())
    assert not path.exists()
    assert not (committed_repo / ".git" / "worktrees" / "wt").exists()
    git(committed_repo, "worktree", "prune")
    listed = json.loads(ossa(committed_repo, "trash", "list", "--format", "json").stdout)
    assert [e["id"] for e in listed] == [entry.id] and listed[0]["path"] == str(path)
    proc = ossa(committed_repo, "trash", "restore", entry.id)
    assert proc.returncode == 0, proc.stderr
    assert tree_state(path) == before
    assert git(path, "diff", "--cached", "--name-only").stdout.split() == ["README.md"]
    assert git(path, "status", "--porcelain").stdout.splitlines() == ["M  README.md",
                                                                     "?? new.txt"]
    assert trash.entries(repo) == []


def test_restore_refuses_an_occupied_place_and_goes_elsewhere(committed_repo: Path) -> None:
    path = linked(committed_repo)
    repo = repo_paths(committed_repo)
    entry = trash.put(repo, path, reason="test")
    path.mkdir()
    proc = ossa(committed_repo, "trash", "restore", entry.id)
    assert proc.returncode == 2 and "exists" in proc.stderr and "--to" in proc.stderr
    other = committed_repo.parent / "elsewhere"
    proc = ossa(committed_repo, "trash", "restore", entry.id[:15], "--to", str(other))
    assert proc.returncode == 0, proc.stderr
    assert git(other, "rev-parse", "--show-toplevel").stdout.strip() == str(other)


def test_restore_never_follows_a_symlink_out(committed_repo: Path, tmp_path: Path) -> None:
    path = linked(committed_repo)
    repo = repo_paths(committed_repo)
    entry = trash.put(repo, path, reason="test")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(path.parent)
    path.parent.symlink_to(outside)  # the folder it lived in now leads elsewhere
    proc = ossa(committed_repo, "trash", "restore", entry.id)
    assert proc.returncode == 2 and "symlink" in proc.stderr
    assert list(outside.iterdir()) == []


def test_a_symlink_inside_is_moved_as_a_link(committed_repo: Path, tmp_path: Path) -> None:
    path = linked(committed_repo)
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("not ours\n")
    (path / "link").symlink_to(outside)
    repo = repo_paths(committed_repo)
    entry = trash.put(repo, path, reason="test")
    trash.empty(repo, [entry.id])
    assert (outside / "keep.txt").read_text() == "not ours\n"
    assert trash.entries(repo) == []


def test_retention_by_age_and_size(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    first = trash.put(repo, linked(committed_repo, "a"), reason="t")
    (trash.folder(repo) / first.id / trash.TREE / "big").write_bytes(b"x" * 300_000)
    second = trash.put(repo, linked(committed_repo, "b"), reason="t",
                       config=config(max_size_mb=100.0))
    assert [e.id for e in trash.entries(repo)] == [first.id, second.id]
    third = trash.put(repo, linked(committed_repo, "c"), reason="t",
                      config=config(max_size_mb=0.1))
    assert [e.id for e in trash.entries(repo)] == [second.id, third.id]
    fourth = trash.put(repo, linked(committed_repo, "d"), reason="t", config=config(keep_days=0))
    assert [e.id for e in trash.entries(repo)] == [fourth.id]  # the new one always stays


def test_doctor_shows_the_trash_and_fixes_what_is_overdue(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    entry = trash.put(repo, linked(committed_repo), reason="t")
    (committed_repo / ".ossa-hooks.yaml").write_text("backup:\n  trash:\n    keep_days: 0\n")
    proc = ossa(committed_repo, "doctor")
    assert f"trash entry {entry.id} is due for deletion (older than 0 days)" in proc.stdout
    assert proc.returncode == 1
    proc = ossa(committed_repo, "doctor", "--fix")
    assert "trash: 0 worktree(s)" in proc.stdout
    assert trash.entries(repo) == []


def test_an_interrupted_move_is_finished(committed_repo: Path) -> None:
    path = linked(committed_repo)
    repo = repo_paths(committed_repo)
    entry = trash.put(repo, path, reason="t")
    where = trash.folder(repo) / entry.id
    # As if killed between the two renames: git's record still in place, the entry unfinished.
    os.rename(where / trash.ADMIN, committed_repo / ".git" / "worktrees" / "wt")
    data = json.loads((where / trash.META).read_text())
    (where / trash.META).write_text(json.dumps({**data, "complete": False}))
    assert "finished its move" in trash.recover(repo)[0]
    assert (where / trash.ADMIN).is_dir()
    trash.restore(repo, entry.id)
    assert git(path, "status", "--porcelain").stdout == ""


def test_empty_asks_for_yes_without_a_terminal(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    trash.put(repo, linked(committed_repo), reason="t")
    proc = ossa(committed_repo, "trash", "empty")
    assert proc.returncode == 2 and "--yes" in proc.stderr
    proc = ossa(committed_repo, "trash", "empty", "--yes")
    assert proc.returncode == 0 and proc.stdout.startswith("deleted ")
    assert ossa(committed_repo, "trash", "list").stdout.strip() == "the trash is empty"


# --- the property: create, edit, cleanup --force, restore gives back every byte ---------------

NAMES = st.sampled_from(["a", "b", "src", "docs", "x y", "ø"])
KINDS = st.sampled_from(["tracked", "untracked", "ignored", "nested"])


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(NAMES, min_size=1, max_size=3), KINDS, st.binary(max_size=64),
                          st.booleans()), min_size=1, max_size=8))
def test_cleanup_force_then_restore_gives_back_every_byte(
        committed_repo: Path, files: list[tuple[list[str], str, bytes, bool]]) -> None:
    repo_dir = committed_repo
    run = len(list((repo_dir.parent).glob("prop-*")))
    (repo_dir / ".gitignore").write_text("*.ign\n")
    git(repo_dir, "add", ".gitignore")
    git(repo_dir, "commit", "-q", "-m", "ignore", "--allow-empty")
    agent, task = "coder", f"p{run}"
    assert ossa(repo_dir, "worktree", "create", agent, task).returncode == 0
    path = repo_dir / ".worktrees" / f"repo-space__{agent}__{task}"
    taken: set[str] = set()
    for parts, kind, data, edit in files:
        rel = "/".join(f"{kind[:3]}-{p}" for p in parts)
        if any(rel == t or rel.startswith(t + "/") or t.startswith(rel + "/") for t in taken):
            continue
        taken.add(rel)
        target = path / (rel + (".ign" if kind == "ignored" else ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "nested":
            target.mkdir()
            git(target, "init", "-q")
            (target / "inner.bin").write_bytes(data)
            git(target, "add", "-A")
            git(target, "commit", "-q", "-m", "inner", "--allow-empty")
            if edit:
                (target / "inner.bin").write_bytes(data + b"edit")
            continue
        target.write_bytes(data)
        if kind == "tracked":
            git(path, "add", "-f", str(target.relative_to(path)))
            git(path, "commit", "-q", "-m", "t")
            if edit:
                target.write_bytes(data[::-1] + b"edited")
    (repo_dir.parent / f"prop-{run}").mkdir()
    before = tree_state(path)
    proc = ossa(repo_dir, "worktree", "cleanup", agent, task, "--force", "--no-merge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not path.exists()
    entry = next(e for e in trash.entries(repo_paths(repo_dir)) if e.path == str(path))
    proc = ossa(repo_dir, "trash", "restore", entry.id)
    assert proc.returncode == 0, proc.stderr
    assert tree_state(path) == before
    assert git(path, "rev-parse", "--show-toplevel").stdout.strip() == str(path)


@pytest.fixture(autouse=True)
def _no_hooks_noise(committed_repo: Path) -> None:
    """Only the action under test: no snapshot or secret scan on the test's own commits."""
    (committed_repo / ".ossa-hooks.yaml").write_text(
        "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n  pre-rebase: []\n"
        "  post-merge: []\n")
