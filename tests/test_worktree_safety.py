"""Worktree removal that loses nothing, on real repositories: the trash instead of deletion,
leases and live processes honoured, keep refs and trusted bases, one lifecycle at a time
(concurrent cleanups and post-merge hooks, SIGKILL during merge-back), doctor's checks."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from test_worktree_lifecycle import INTEGRATION
from test_worktree_lifecycle import QUIET_CONFIG
from test_worktree_lifecycle import branches
from test_worktree_lifecycle import commit_file
from test_worktree_lifecycle import create
from test_worktree_lifecycle import rev
from test_worktree_lifecycle import worktree_paths
from test_worktree_lifecycle import wt_path

OSSA = str(Path(sys.executable).with_name("ossa-hooks"))


def trash_ids(repo: Path) -> list[str]:
    proc = ossa(repo, "trash", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return [e["id"] for e in json.loads(proc.stdout)]


def keep_refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)",
              "refs/ossa-hooks/keep/").stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


@pytest.fixture
def proj(committed_repo: Path) -> Path:
    """A repository on `main` with a quiet config committed."""
    (committed_repo / ".ossa-hooks.yaml").write_text(QUIET_CONFIG)
    (committed_repo / "app.txt").write_text("line 1\nline 2\nline 3\n")
    git(committed_repo, "add", ".")
    git(committed_repo, "commit", "-q", "-m", "config")
    return committed_repo


@pytest.fixture
def sleeper() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        p.kill()
        p.wait()


# --- the trash instead of deletion --------------------------------------------------------------


def test_cleanup_force_moves_everything_to_the_trash_and_restore_gives_it_back(
        proj: Path) -> None:
    (proj / ".gitignore").write_text("results/\n*.log\n")
    git(proj, "add", ".gitignore")
    git(proj, "commit", "-q", "-m", "ignore")
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "feature.txt", "committed\n")
    (path / "results").mkdir()
    (path / "results" / "model.bin").write_bytes(os.urandom(4096))  # ignored
    (path / "train.log").write_text("epoch 1\n")  # ignored
    (path / ".agents-workspace" / "data" / "plan.md").write_text("the plan\n")  # excluded
    (path / "app.txt").write_text("staged edit\n")
    git(path, "add", "app.txt")
    (path / "app.txt").write_text("unstaged on top\n")
    nested = path / "vendor" / "lib"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    commit_file(nested, "n.txt", "nested commit\n")
    before = {p.relative_to(path): p.read_bytes() for p in path.rglob("*")
              if p.is_file() and ".git" not in p.relative_to(path).parts[:1]}

    proc = ossa(proj, "worktree", "cleanup", "coder", "t1", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "to the trash" in proc.stdout and not path.exists()
    assert worktree_paths(proj) == [str(proj)]
    assert rev(proj, "refs/heads/agents/coder/t1") is None  # merged, then deleted ...
    [kept] = keep_refs(proj).values()
    assert kept == tip  # ... and its tip kept
    [entry] = trash_ids(proj)

    proc = ossa(proj, "trash", "restore", entry)
    assert proc.returncode == 0, proc.stderr
    assert "recreated" in proc.stdout
    after = {p.relative_to(path): p.read_bytes() for p in path.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(path).parts[:1]}
    assert after == before
    assert str(path) in worktree_paths(proj)
    # Its index came back too: the staged edit is staged, the unstaged one unstaged.
    assert git(path, "diff", "--cached", "--name-only").stdout.split() == ["app.txt"]
    assert git(path, "show", ":app.txt").stdout == "staged edit\n"
    assert git(path, "symbolic-ref", "--short", "HEAD").stdout.strip() == "agents/coder/t1"
    assert git(nested, "log", "--format=%s").stdout.strip() == "work"
    assert trash_ids(proj) == []


def test_a_removed_worktree_is_restored_detached_when_its_branch_moved(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "f.txt", "f\n")
    (path / "f.txt").write_text("draft\n")
    assert ossa(proj, "worktree", "cleanup", "coder", "t1", "--force", "--no-merge"
                ).returncode == 0
    assert rev(proj, "agents/coder/t1") == tip  # not merged: kept
    git(proj, "branch", "-f", "agents/coder/t1", "main")
    [entry] = trash_ids(proj)
    proc = ossa(proj, "trash", "restore", entry)
    assert proc.returncode == 0, proc.stderr
    assert "detached" in proc.stdout
    assert rev(path, "HEAD") == tip and (path / "f.txt").read_text() == "draft\n"


# --- leases and live processes ----------------------------------------------------------------


def test_cleanup_never_removes_a_worktree_a_process_works_in(
        proj: Path, sleeper: list[subprocess.Popen[bytes]]) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "f.txt", "f\n")
    agent = subprocess.Popen(["sleep", "60"], cwd=path / ".agents-workspace")
    sleeper.append(agent)
    for extra in ([], ["--force"], ["--force", "--no-merge"]):
        proc = ossa(proj, "worktree", "cleanup", "coder", "t1", *extra)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"process {agent.pid} (sleep) is working in it" in proc.stderr
        assert "nothing was removed" in proc.stderr
        assert path.is_dir() and rev(proj, INTEGRATION) is None
    agent.kill()
    agent.wait()
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert not path.exists()


def test_cleanup_waits_for_no_one_but_refuses_a_live_lease(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    commit_file(path, "f.txt", "f\n")
    code = ("import sys, time, pathlib; from ossa_hooks import git;"
            " from ossa_hooks.worktree import lease;"
            f" lease.acquire(git.repo_paths({str(proj)!r}), pathlib.Path({str(path)!r}),"
            " 'agent coder'); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=proj)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = ossa(proj, "worktree", "cleanup", "coder", "t1", "--force")
        assert proc.returncode == 1 and "leased by agent coder" in proc.stderr
        assert path.is_dir()
    finally:
        holder.kill()
        holder.wait()
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1")
    assert proc.returncode == 0, proc.stderr


def test_post_merge_keeps_a_worktree_a_process_works_in(
        proj: Path, sleeper: list[subprocess.Popen[bytes]]) -> None:
    create(proj, "coder", "busy")
    create(proj, "coder", "idle")
    busy, idle = wt_path(proj, "coder", "busy"), wt_path(proj, "coder", "idle")
    commit_file(busy, "busy.txt", "b\n")
    commit_file(idle, "idle.txt", "i\n")
    agent = subprocess.Popen(["sleep", "60"], cwd=busy)
    sleeper.append(agent)
    merge = git(proj, "merge", "-q", "--no-edit", "agents/coder/busy", "agents/coder/idle")
    said = merge.stdout + merge.stderr
    assert f"process {agent.pid} (sleep) is working in it" in said
    assert busy.is_dir() and rev(proj, "refs/heads/agents/coder/busy") is not None
    assert not idle.exists() and "moved" in said
    assert len(trash_ids(proj)) == 1


# --- no commit becomes unreachable ----------------------------------------------------------------


def test_a_merge_into_a_detached_head_deletes_no_branch(proj: Path) -> None:
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "f.txt", "agent's work\n")
    git(proj, "checkout", "-q", "--detach")
    git(proj, "merge", "-q", "--no-ff", "--no-edit", "agents/coder/t1")
    git(proj, "checkout", "-q", "main")
    assert rev(proj, "refs/heads/agents/coder/t1") == tip
    assert path.is_dir()
    # Even when asked to clean up, the branch stays: only a detached HEAD held it.
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1", "--no-merge")
    assert proc.returncode == 0, proc.stderr
    assert "kept branch agents/coder/t1" in proc.stdout
    assert rev(proj, "refs/heads/agents/coder/t1") == tip


def test_an_edited_env_base_changes_no_decision(proj: Path) -> None:
    git(proj, "branch", "other")
    create(proj, "coder", "t1")
    path = wt_path(proj, "coder", "t1")
    tip = commit_file(path, "f.txt", "agent's work\n")
    env = (path / ".env").read_text().replace("OSSA_BASE_BRANCH=main",
                                              "OSSA_BASE_BRANCH=agents/coder/t1")
    (path / ".env").write_text(env)
    proc = ossa(proj, "worktree", "cleanup", "coder", "t1", "--no-merge")
    assert proc.returncode == 0, proc.stderr
    assert rev(proj, "refs/heads/agents/coder/t1") == tip  # not deleted
    create(proj, "coder", "t2")
    path2 = wt_path(proj, "coder", "t2")
    tip2 = commit_file(path2, "g.txt", "more\n")
    env = (path2 / ".env").read_text().replace("OSSA_BASE_BRANCH=main", "OSSA_BASE_BRANCH=other")
    (path2 / ".env").write_text(env)
    proc = ossa(proj, "worktree", "cleanup", "coder", "t2")
    assert proc.returncode == 0, proc.stderr
    assert rev(proj, INTEGRATION) == tip2  # the recorded base's integration branch
    assert rev(proj, f"other-agents-merge-{INTEGRATION.rsplit('-', 1)[1]}") is None


def test_keep_refs_list_and_prune(proj: Path) -> None:
    create(proj, "coder", "t1")
    tip = commit_file(wt_path(proj, "coder", "t1"), "f.txt", "f\n")
    assert ossa(proj, "worktree", "cleanup", "coder", "t1").returncode == 0
    listed = ossa(proj, "backup", "keep", "list")
    assert listed.returncode == 0 and "refs/ossa-hooks/keep/agents/coder/t1/" in listed.stdout
    assert tip[:10] in listed.stdout
    git(proj, "branch", "-D", INTEGRATION)  # now only the keep ref holds the commit
    assert ossa(proj, "backup", "keep", "prune").stdout.strip() == "0 keep refs deleted"
    assert list(keep_refs(proj).values()) == [tip]
    pruned = ossa(proj, "backup", "keep", "prune", "--older-than", "0")
    assert "1 keep ref deleted" in pruned.stdout and keep_refs(proj) == {}


# --- one lifecycle at a time ------------------------------------------------------------------


def _many(proj: Path, n: int) -> list[str]:
    tips = []
    for i in range(n):
        create(proj, "coder", f"t{i}")
        tips.append(commit_file(wt_path(proj, "coder", f"t{i}"), f"f{i}.txt", f"{i}\n"))
    return tips


def test_eight_concurrent_cleanups_all_succeed(proj: Path) -> None:
    _many(proj, 8)
    procs = [subprocess.Popen([OSSA, "worktree", "cleanup", "coder", f"t{i}"], cwd=proj,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(8)]
    results = [(p.wait(), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, out + err
    tree = git(proj, "ls-tree", "--name-only", INTEGRATION).stdout.split()
    assert {f"f{i}.txt" for i in range(8)} <= set(tree)
    assert worktree_paths(proj) == [str(proj)] and branches(proj, "agents/*") == []
    assert len(trash_ids(proj)) == 8
    assert list((proj / ".git" / "ossa-hooks" / "tmp").glob("merge-*")) == []


def test_eight_concurrent_post_merge_hooks_all_succeed(proj: Path) -> None:
    _many(proj, 8)
    git(proj, "-c", "core.hooksPath=/dev/null", "merge", "-q", "--no-edit",
        *(f"agents/coder/t{i}" for i in range(8)))
    hook = proj / ".git" / "hooks" / "post-merge"
    procs = [subprocess.Popen([str(hook), "0"], cwd=proj, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [(p.wait(), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0 and "Traceback" not in err and "error" not in err, out + err
    said = "".join(out for _, out, _ in results)
    assert said.count("ossa-cleanup: moved") == 8
    assert worktree_paths(proj) == [str(proj)] and branches(proj, "agents/*") == []
    assert len(trash_ids(proj)) == 8


def test_sigkill_during_merge_back_is_recovered(proj: Path) -> None:
    rounds = 5
    _many(proj, rounds)
    git(proj, "branch", INTEGRATION, "main")
    git(proj, "checkout", "-q", INTEGRATION)
    commit_file(proj, "moved.txt", "the integration branch moved\n")  # so: real merges
    git(proj, "checkout", "-q", "main")
    rng = random.Random(11)
    for i in range(rounds):
        victim = subprocess.Popen([OSSA, "worktree", "cleanup", "coder", f"t{i}"], cwd=proj,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        time.sleep(rng.uniform(0.3, 1.2))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        again = ossa(proj, "worktree", "cleanup", "coder", f"t{i}")
        finished = again.returncode == 2 and "no agent worktree or branch" in again.stderr
        assert again.returncode == 0 or finished, again.stdout + again.stderr
    tree = git(proj, "ls-tree", "--name-only", INTEGRATION).stdout.split()
    assert {f"f{i}.txt" for i in range(rounds)} <= set(tree)
    assert worktree_paths(proj) == [str(proj)]
    assert list((proj / ".git" / "ossa-hooks" / "tmp").glob("merge-*")) == []
    doctor = ossa(proj, "doctor")
    assert "temporary merge worktree" not in doctor.stdout


def test_doctor_reports_and_fixes_a_leftover_temporary_worktree(proj: Path) -> None:
    git(proj, "branch", INTEGRATION, "main")
    tmp = proj / ".git" / "ossa-hooks" / "tmp" / "merge-killed"
    tmp.parent.mkdir(parents=True)
    git(proj, "worktree", "add", "-q", str(tmp), INTEGRATION)
    git(proj, "worktree", "lock", str(tmp))
    lock = proj / ".git" / "refs" / "heads" / "stuck.lock"
    lock.write_text("")
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    proc = ossa(proj, "doctor")
    assert proc.returncode == 1
    assert "temporary merge worktree left by a killed cleanup" in proc.stdout
    assert f"{lock}: git lock file left by a killed git command" in proc.stdout
    proc = ossa(proj, "doctor", "--fix")
    assert "removed a temporary merge worktree" in proc.stdout
    assert not tmp.exists() and not lock.exists()
    assert worktree_paths(proj) == [str(proj)]


# --- never through a symlink out of the repository --------------------------------------------


def test_create_never_writes_through_a_committed_worktrees_symlink(proj: Path,
                                                                    tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (proj / ".worktrees").symlink_to(outside)
    git(proj, "add", ".worktrees")
    git(proj, "commit", "-q", "-m", "a symlinked worktree root")
    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 2 and "is a symlink" in proc.stderr
    assert list(outside.iterdir()) == [] and worktree_paths(proj) == [str(proj)]


def test_create_never_writes_the_scaffold_through_a_symlink(proj: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (proj / ".agents-workspace").mkdir()
    (proj / ".agents-workspace" / "config").symlink_to(outside)
    git(proj, "add", ".agents-workspace")
    git(proj, "commit", "-q", "-m", "a symlinked config folder")
    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 2 and "is a symlink" in proc.stderr
    assert list(outside.iterdir()) == []
    assert worktree_paths(proj) == [str(proj)] and branches(proj, "agents/*") == []


def test_sigkill_during_the_post_merge_sweep_loses_nothing(proj: Path) -> None:
    n = 4
    _many(proj, n)
    paths = [wt_path(proj, "coder", f"t{i}") for i in range(n)]
    git(proj, "-c", "core.hooksPath=/dev/null", "merge", "-q", "--no-edit",
        *(f"agents/coder/t{i}" for i in range(n)))
    hook = proj / ".git" / "hooks" / "post-merge"
    rng = random.Random(7)
    for _ in range(4):
        victim = subprocess.Popen([str(hook), "0"], cwd=proj, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.2, 1.0))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        # Whatever the moment: each worktree is in place and registered, or in the trash.
        listed = json.loads(ossa(proj, "trash", "list", "--format", "json").stdout)
        trashed = {e["path"] for e in listed}
        registered = set(worktree_paths(proj))
        for p in paths:
            assert (p.is_dir() and str(p) in registered) or str(p) in trashed, p
    done = subprocess.run([str(hook), "0"], cwd=proj, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    listed = json.loads(ossa(proj, "trash", "list", "--format", "json").stdout)
    assert sorted(e["path"] for e in listed) == sorted(str(p) for p in paths)
    assert all(e["complete"] for e in listed)
    assert worktree_paths(proj) == [str(proj)]
    for b in branches(proj, "agents/*"):  # a kill between move and branch deletion: kept
        assert git(proj, "merge-base", "--is-ancestor", b, "main", check=False).returncode == 0
    for e in listed:  # every one comes back whole
        assert ossa(proj, "trash", "restore", e["id"]).returncode == 0
    assert all((p / f"f{i}.txt").read_text() == f"{i}\n" for i, p in enumerate(paths))
