"""backup watch on real repositories: a change makes a snapshot (so a `git reset --hard`
afterwards loses nothing), one watcher per worktree, it exits when idle, the hook starts it when
enabled, doctor lists it, and it never counts as a process working in the worktree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from test_backup_snapshot import backup_refs
from test_backup_snapshot import install_hooks
from test_backup_snapshot import show_file

from ossa_hooks.git import repo_paths
from ossa_hooks.worktree import lease

OSSA = str(Path(sys.executable).with_name("ossa-hooks"))


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.1)


def test_a_change_is_saved_before_a_reset_hard_can_lose_it(committed_repo: Path) -> None:
    watcher = subprocess.Popen([OSSA, "backup", "watch", "--debounce", "0.3", "--idle", "0.15"],
                               cwd=committed_repo, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().startswith(f"watching {committed_repo}")
        # The watcher is not "working in" the worktree: cleanup would not be held up by it.
        assert watcher.pid not in [p for p, _ in lease.processes_inside(committed_repo,
                                                                         ignore=set())]
        second = ossa(committed_repo, "backup", "watch")
        assert second.returncode == 2 and "watched already" in second.stderr
        doctor = ossa(committed_repo, "doctor")
        assert f"backup watch running (pid {watcher.pid})" in doctor.stdout
        (committed_repo / "README.md").write_text("an edit an agent is about to lose\n")
        wait_for(lambda: len(backup_refs(committed_repo)) == 1, "no snapshot after a change")
        git(committed_repo, "reset", "-q", "--hard")
        [name] = backup_refs(committed_repo)
        assert show_file(committed_repo, name, "README.md") == \
            b"an edit an agent is about to lose\n"
        out, _ = watcher.communicate(timeout=120)  # idle for 9 s: it stops by itself
        assert watcher.returncode == 0
        assert f"saved {name}" in out and "stopping" in out and "1 snapshot made" in out
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert "backup watch not running" in ossa(committed_repo, "doctor").stdout


def test_the_hook_starts_a_watcher_when_enabled(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text(
        "hooks:\n  pre-commit: []\n  pre-push: []\n"
        "backup:\n  watch:\n    enabled: true\n    idle_minutes: 0.2\n")
    install_hooks(committed_repo)
    git(committed_repo, "checkout", "-q", "-b", "side")
    record = committed_repo / ".git" / "ossa-hooks" / "watch"
    wait_for(lambda: "backup watch running" in ossa(committed_repo, "doctor").stdout,
             "the hook started no watcher")
    git(committed_repo, "checkout", "-q", "main")  # one per worktree: no second one
    running = [line for line in ossa(committed_repo, "doctor").stdout.splitlines()
               if "backup watch running" in line]
    assert len(running) == 1
    pid = int(running[0].rsplit("pid ", 1)[1].rstrip(")"))
    os.kill(pid, 15)
    wait_for(lambda: "backup watch running" not in ossa(committed_repo, "doctor").stdout,
             "the watcher did not stop on SIGTERM")
    assert (record / "watch.log").exists()
    assert repo_paths(committed_repo).toplevel == committed_repo
