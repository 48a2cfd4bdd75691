"""Leases on worktrees (ossa_hooks.worktree.lease) with real processes and real git: a live
lease refuses another holder and git's own removal; a dead holder's lease is taken over; a
process working inside a worktree or a git operation in progress count as live use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks import git as git_mod
from ossa_hooks.worktree import lease

PYENV = {"PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.fixture
def linked(committed_repo: Path) -> Path:
    path = committed_repo.parent / "linked wt ø"
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/t1", str(path))
    return path


def _lock_line(repo: Path, worktree: Path) -> str | None:
    out = git(repo, "worktree", "list", "--porcelain").stdout
    for record in out.split("\n\n"):
        if record.startswith(f"worktree {worktree}\n"):
            for line in record.splitlines():
                if line.startswith("locked"):
                    return line
    return None


def _holder(worktree: Path, holder: str = "workflow 1") -> subprocess.Popen[str]:
    """A separate process that takes the lease, says so, and then sleeps."""
    code = textwrap.dedent(f"""
        import sys, time
        from ossa_hooks import git
        from ossa_hooks.worktree import lease
        repo = git.repo_paths({str(worktree)!r})
        lease.acquire(repo, __import__('pathlib').Path({str(worktree)!r}), {holder!r})
        print('held', flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **PYENV})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def cleanup_procs() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_acquire_locks_the_worktree_and_release_unlocks_it(committed_repo: Path,
                                                           linked: Path) -> None:
    repo = git_mod.repo_paths(str(linked))
    got = lease.acquire(repo, linked, "workflow 1", workflow_id="1")
    assert got.pid == os.getpid() and lease.is_live(got)
    assert _lock_line(committed_repo, linked) == f"locked ossa-hooks: workflow 1 pid {os.getpid()}"
    # git itself now refuses to remove it
    proc = git(committed_repo, "worktree", "remove", str(linked), check=False)
    assert proc.returncode != 0 and "locked" in proc.stderr
    assert lease.read(repo, linked) == got
    lease.release(repo, got)
    assert _lock_line(committed_repo, linked) is None
    assert lease.read(repo, linked) is None


def test_a_live_lease_refuses_another_process(linked: Path,
                                              cleanup_procs: list[subprocess.Popen[str]]) -> None:
    holder = _holder(linked)
    cleanup_procs.append(holder)
    repo = git_mod.repo_paths(str(linked))
    with pytest.raises(lease.LeaseHeld) as err:
        lease.acquire(repo, linked, "worktree cleanup")
    assert f"workflow 1 (pid {holder.pid}" in err.value.message
    assert err.value.code == 1
    assert lease.live_use(repo, linked) == [
        f"leased by {lease.read(repo, linked).describe()}"]  # type: ignore[union-attr]


def test_a_dead_holders_lease_is_taken_over_with_a_message(
        committed_repo: Path, linked: Path, cleanup_procs: list[subprocess.Popen[str]]) -> None:
    holder = _holder(linked, "agent coder-1")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    repo = git_mod.repo_paths(str(linked))
    [old] = lease.stale(repo)
    assert old.pid == holder.pid
    said: list[str] = []
    got = lease.acquire(repo, linked, "workflow 2", echo=said.append)
    assert said == [f"ossa-hooks: took over the lease of {linked} from {old.describe()} "
                    "(that process is gone)"]
    assert _lock_line(committed_repo, linked) == f"locked ossa-hooks: workflow 2 pid {got.pid}"
    assert lease.stale(repo) == []


def test_a_recycled_pid_does_not_keep_a_lease_alive(linked: Path) -> None:
    repo = git_mod.repo_paths(str(linked))
    got = lease.acquire(repo, linked, "workflow 1")
    # the same pid, but a process that started at another time: not the holder
    forged = lease.Lease(got.worktree, got.holder, got.pid, "1", got.host, got.acquired)
    assert lease.is_live(got) and not lease.is_live(forged)


def test_a_child_of_the_holder_shares_the_lease(linked: Path) -> None:
    repo = git_mod.repo_paths(str(linked))
    with lease.held(repo, linked, "workflow 1") as outer:
        code = textwrap.dedent(f"""
            from pathlib import Path
            from ossa_hooks import git
            from ossa_hooks.worktree import lease
            repo = git.repo_paths({str(linked)!r})
            with lease.held(repo, Path({str(linked)!r}), 'agents run') as inner:
                print(inner.holder, inner.pid)
        """)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, **PYENV}, check=True)
        assert proc.stdout.split() == ["workflow", "1", str(os.getpid())]
        assert lease.read(repo, linked) == outer  # the child did not give it back
    assert lease.read(repo, linked) is None


def test_the_main_worktree_is_leased_without_a_git_lock(committed_repo: Path) -> None:
    repo = git_mod.repo_paths(str(committed_repo))
    with lease.held(repo, committed_repo, "agents run") as got:
        assert lease.read(repo, committed_repo) == got
        assert _lock_line(committed_repo, committed_repo) is None


def test_a_process_working_inside_is_live_use(linked: Path,
                                              cleanup_procs: list[subprocess.Popen[str]]) -> None:
    (linked / "sub dir").mkdir()
    child = subprocess.Popen(["sleep", "60"], cwd=linked / "sub dir")
    cleanup_procs.append(child)  # type: ignore[arg-type]
    repo = git_mod.repo_paths(str(linked))
    deadline = time.monotonic() + 10
    while not lease.processes_inside(linked) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lease.live_use(repo, linked) == [f"process {child.pid} (sleep) is working in it"]
    child.kill()
    child.wait()
    assert lease.live_use(repo, linked) == []


def test_git_operations_in_progress_and_foreign_locks(committed_repo: Path,
                                                      linked: Path) -> None:
    repo = git_mod.repo_paths(str(linked))
    admin = lease.git_dir_of(linked)
    (admin / "index.lock").write_text("")
    assert lease.live_use(repo, linked) == ["a git command is running (index.lock)"]
    (admin / "index.lock").unlink()
    (linked / "a.txt").write_text("ours\n")
    git(linked, "add", "a.txt")
    git(linked, "commit", "-q", "-m", "ours")
    (committed_repo / "a.txt").write_text("theirs\n")
    git(committed_repo, "add", "a.txt")
    git(committed_repo, "commit", "-q", "-m", "theirs")
    assert git(linked, "merge", "main", check=False).returncode != 0
    assert lease.live_use(repo, linked) == ["a merge is in progress"]
    git(linked, "merge", "--abort")
    git(committed_repo, "worktree", "lock", "--reason", "on a USB disk", str(linked))
    assert lease.live_use(repo, linked) == ["locked: on a USB disk"]
    # a person's lock is never replaced or removed by a lease
    with lease.held(repo, linked, "workflow 1"):
        assert _lock_line(committed_repo, linked) == "locked on a USB disk"
    assert _lock_line(committed_repo, linked) == "locked on a USB disk"


def test_concurrent_acquires_have_exactly_one_winner(linked: Path) -> None:
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from ossa_hooks import git
        from ossa_hooks.worktree import lease
        repo = git.repo_paths({str(linked)!r})
        try:
            lease.acquire(repo, Path({str(linked)!r}), 'racer')
        except lease.LeaseHeld:
            print('refused', flush=True)
            sys.exit(0)
        print('won', flush=True)
        time.sleep(5)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, **PYENV}) for _ in range(8)]
    try:
        answers = sorted(p.stdout.readline().strip() for p in procs)  # type: ignore[union-attr]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert answers == ["refused"] * 7 + ["won"]


def test_doctor_reports_a_stale_lease_and_fix_clears_it(
        committed_repo: Path, linked: Path, cleanup_procs: list[subprocess.Popen[str]]) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    holder = _holder(linked, "agent coder-1")
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 0, proc.stdout
    assert f"ok      {linked}: leased by agent coder-1 (pid {holder.pid}" in proc.stdout
    holder.kill()
    holder.wait()
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 1
    assert (f"stale   {linked}: lease of agent coder-1 (pid {holder.pid}" in proc.stdout
            and "outlived its process (run `ossa-hooks doctor --fix`)" in proc.stdout)
    proc = ossa(committed_repo, "doctor", "--fix")
    assert proc.returncode == 0, proc.stdout
    assert f"fixed   {linked}: removed the stale lease of agent coder-1" in proc.stdout
    assert _lock_line(committed_repo, linked) is None
