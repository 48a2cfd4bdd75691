"""backup push on real repositories: in the background, never a secret, logged."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from test_backup_snapshot import install_hooks
from test_backup_snapshot import snap

from ossa_hooks.backup import push as push_mod
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.git import repo_paths

# --- push -----------------------------------------------------------------------------------


def _with_origin(repo: Path, tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    return origin


def test_push_in_the_background(committed_repo: Path, tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    (committed_repo / ".ossa-hooks.yaml").write_text("backup:\n  push: true\n")
    (committed_repo / "work.txt").write_text("plain work\n")
    proc = ossa(committed_repo, "backup", "create")
    assert proc.returncode == 0
    name = proc.stdout.split()[-1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if git(origin, "rev-parse", "-q", "--verify", f"refs/heads/{name}",
               check=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the snapshot never reached origin")
    log = (committed_repo / ".git" / "ossa-hooks" / "backup-push.log")
    while time.monotonic() < deadline and "pushed" not in log.read_text():
        time.sleep(0.1)
    assert f"{name}: pushed to origin" in log.read_text()


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.1)


def test_prune_deletes_the_pushed_copies_too(committed_repo: Path, tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    (committed_repo / ".ossa-hooks.yaml").write_text("backup:\n  push: true\n")
    names = []
    for text in ("one\n", "two\n"):
        (committed_repo / "work.txt").write_text(text)
        names.append(ossa(committed_repo, "backup", "create").stdout.split()[-1])

    def on_origin() -> set[str]:
        refs = git(origin, "for-each-ref", "--format=%(refname:lstrip=2)").stdout
        return set(refs.split())

    _wait_for(lambda: on_origin() == set(names), "the snapshots never reached origin")
    log = committed_repo / ".git" / "ossa-hooks" / "backup-push.log"
    _wait_for(lambda: log.read_text().count("pushed to origin") == 2, "no push logged")
    proc = ossa(committed_repo, "backup", "prune", "--keep", "1")
    assert proc.returncode == 0, proc.stderr
    assert "deleting 1 pushed copy from origin in the background" in proc.stderr
    _wait_for(lambda: on_origin() == {names[1]}, "the pruned snapshot stayed on origin")
    _wait_for(lambda: "deleted from origin" in log.read_text(), "no deletion logged")
    assert f"{names[0]}: deleted from origin" in log.read_text()
    # A snapshot never pushed is pruned here only; an unreachable remote is logged.
    git(committed_repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = ossa(committed_repo, "backup", "prune", "--keep", "0")
    assert proc.returncode == 0 and "1 snapshot deleted" in proc.stdout
    _wait_for(lambda: "removal from origin failed" in log.read_text(), "no failure logged")


def test_a_snapshot_with_a_secret_is_not_pushed(committed_repo: Path, tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    key = "AKIA" + "Z7Q2RT5LMN3XPK4W"
    (committed_repo / "config.py").write_text(f'aws_access_key_id = "{key}"\n')
    name = snap(committed_repo)
    assert name
    outcome = push_mod.push(repo_paths(committed_repo), name, "origin")
    assert outcome.startswith("not pushed: 1 possible secret(s): config.py:1:")
    assert key not in outcome
    assert git(origin, "for-each-ref").stdout == ""
    log = (committed_repo / ".git" / "ossa-hooks" / "backup-push.log").read_text()
    assert f"{name}: not pushed" in log


def test_the_commit_guard_engine_finds_what_the_snapshot_adds_and_honours_the_baseline(
        committed_repo: Path) -> None:
    key = "AKIA" + "Q4ZT7RM2LPN5XK3W"
    (committed_repo / "a b ø.py").write_text(f'aws_access_key_id = "{key}"\n')
    name = snap(committed_repo)
    s = backup.resolve(repo_paths(committed_repo), name or "")
    found = push_mod.find_secrets(repo_paths(committed_repo), s)
    assert len(found) == 1 and found[0].startswith("a b ø.py:1: ") and key not in found[0]
    # accepted into the baseline (as a person reviews it): the next snapshot is clean
    git(committed_repo, "add", "a b ø.py")
    assert ossa(committed_repo, "scan", "--update-baseline").returncode == 0
    git(committed_repo, "reset", "-q")
    (committed_repo / "other.txt").write_text("more work\n")
    s = backup.resolve(repo_paths(committed_repo), snap(committed_repo) or "")
    assert push_mod.find_secrets(repo_paths(committed_repo), s) == []


def test_the_configured_secret_excludes_hold_for_a_snapshot(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("secrets:\n  exclude: ['fixtures/']\n")
    git(committed_repo, "add", ".ossa-hooks.yaml")
    git(committed_repo, "commit", "-q", "-m", "config")
    key = "AKIA" + "Q4ZT7RM2LPN5XK3W"
    (committed_repo / "fixtures").mkdir()
    (committed_repo / "fixtures" / "fake_aws.py").write_text(f'key = "{key}"\n')
    s = backup.resolve(repo_paths(committed_repo), snap(committed_repo) or "")
    assert push_mod.find_secrets(repo_paths(committed_repo), s) == []


def test_a_failed_push_is_logged_not_raised(committed_repo: Path) -> None:
    (committed_repo / "x").write_text("x\n")
    name = snap(committed_repo)
    outcome = push_mod.push(repo_paths(committed_repo), name or "", "nowhere")
    assert outcome.startswith("push to nowhere failed")


def test_an_unpushed_commit_with_a_skipped_secret_is_not_pushed(committed_repo: Path,
                                                                tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    install_hooks(committed_repo)
    git(committed_repo, "push", "-q", "--no-verify", "origin", "main")  # the remote has all so far
    key = "AKIA" + "Q4ZT7RM2LPN5XK3W"
    (committed_repo / "settings.py").write_text(f'aws_access_key_id = "{key}"\n')
    git(committed_repo, "add", "settings.py")
    skipped = git(committed_repo, "commit", "-q", "-m", "oops",
                  env={**os.environ, "SKIP": "ossa-secrets"})
    assert skipped.returncode == 0
    (committed_repo / "notes.txt").write_text("harmless work in progress\n")
    name = snap(committed_repo)
    outcome = push_mod.push(repo_paths(committed_repo), name or "", "origin")
    assert outcome.startswith("not pushed: possible secret settings.py:1:"), outcome
    assert key not in outcome
    assert git(origin, "for-each-ref", "refs/heads/backup/").stdout == ""
    # What cannot be scanned is not pushed either: a file over max_file_size.
    git(committed_repo, "reset", "-q", "--hard", "origin/main")
    (committed_repo / ".ossa-hooks.yaml").write_text("secrets:\n  max_file_size: 10\n")
    (committed_repo / "big.txt").write_text("x" * 100 + "\n")
    git(committed_repo, "add", "-A")
    git(committed_repo, "commit", "-q", "-m", "big", env={**os.environ, "SKIP": "ossa-secrets"})
    (committed_repo / "notes.txt").write_text("more\n")
    name = snap(committed_repo)
    outcome = push_mod.push(repo_paths(committed_repo), name or "", "origin")
    assert "over secrets.max_file_size" in outcome and "cannot be scanned" in outcome, outcome
    assert git(origin, "for-each-ref", "refs/heads/backup/").stdout == ""
