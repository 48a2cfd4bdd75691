"""Trust for repository-supplied commands: asked once, stored in the user's state, asked
again when a command changes; refused with the one command that approves them."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from conftest import commit_files
from conftest import git
from conftest import ossa

PY = shlex.quote(sys.executable)
OFF = {name: {"enabled": False} for name in ("tests", "lint", "format", "security")}


@pytest.fixture(autouse=True)
def _ask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSSA_HOOKS_TRUST_ALL")


def cloned(tmp_path: Path, committed_repo: Path, run: str) -> Path:
    """A clone of a repository whose committed configuration runs ``run`` on push."""
    commit_files(committed_repo, {".ossa-hooks.yaml": json.dumps(
        {"judge": {"checks": {**OFF, "mine": {"run": run}}}})})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(committed_repo), str(clone))
    return clone


def judge(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`ossa-hooks judge` with no controlling terminal (as from a GUI git client or CI)."""
    exe = Path(sys.executable).with_name("ossa-hooks")
    return subprocess.run([str(exe), "judge"], cwd=cwd, capture_output=True, text=True,
                          start_new_session=True, check=False)


def test_a_cloned_repositorys_commands_run_only_once_approved(
        committed_repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    clone = cloned(tmp_path, committed_repo, f"{PY} -c \"open({str(marker)!r}, 'a').write('x')\"")
    res = judge(clone)
    assert res.returncode == 1
    assert "this repository's configuration runs judge checks you have not approved:" \
        in res.stderr
    assert f"  judge.checks.mine: {PY} -c" in res.stderr
    assert res.stderr.splitlines()[-1] == ("ossa-hooks: judge checks not approved: nothing "
                                           "ran; review them and approve with `ossa-hooks trust`")
    assert not marker.exists()

    res = ossa(clone, "trust")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("judge checks (approved now):\n  judge.checks.mine: ")
    state = Path(os.environ["HOME"]) / ".local" / "state" / "ossa-hooks" / "trusted.json"
    assert str(clone / ".git") in json.loads(state.read_text())  # the user's state, not the repo
    assert not list(clone.glob("**/trusted.json"))
    assert judge(clone).returncode == 0
    assert marker.read_text() == "x"

    # a changed command asks again
    commit_files(clone, {".ossa-hooks.yaml": json.dumps(
        {"judge": {"checks": {**OFF, "mine": {"run": "true"}}}})})
    res = judge(clone)
    assert res.returncode == 1 and "  judge.checks.mine: true" in res.stderr
    assert "approved" in ossa(clone, "trust", "--show").stdout


def test_the_default_checks_need_no_approval(committed_repo: Path) -> None:
    res = ossa(committed_repo, "trust")
    assert res.stdout.startswith("nothing to approve")
    commit_files(committed_repo, {".ossa-hooks.yaml": json.dumps(
        {"judge": {"checks": {**OFF, "lint": {"enabled": True}}}})})
    res = judge(committed_repo)
    assert res.returncode == 0, res.stdout + res.stderr


def test_on_a_terminal_the_user_is_asked(committed_repo: Path, tmp_path: Path) -> None:
    clone = cloned(tmp_path, committed_repo, "true")
    exe = Path(sys.executable).with_name("ossa-hooks")
    for answer, code in ((b"n\n", 1), (b"y\n", 0)):
        leader, follower = os.openpty()
        proc = subprocess.Popen(
            [str(exe), "judge"], cwd=clone, stdin=follower, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
            # the pty becomes the judge's controlling terminal (/dev/tty)
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(follower)
        os.write(leader, answer)
        _, err = proc.communicate(timeout=60)
        asked = ""
        while True:
            try:
                block = os.read(leader, 4096)
            except OSError:  # EIO: the judge and its terminal are gone
                break
            if not block:
                break
            asked += block.decode()
        os.close(leader)
        assert "runs judge checks you have not approved:" in asked, err
        assert asked.rstrip().endswith("Run them? [y/N]")
        assert proc.returncode == code, err
    assert judge(clone).returncode == 0  # remembered


def _no_tty(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("ossa-hooks")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          start_new_session=True, check=False)


def test_an_agent_specs_command_runs_only_once_approved(committed_repo: Path,
                                                         tmp_path: Path) -> None:
    """An agent spec is a file in the repository: the program it names runs only after the
    user approved it (`ossa-hooks trust`), and again only after a change is approved."""
    marker = tmp_path / "ran"
    script = tmp_path / "agent.sh"
    script.write_text(f"#!/bin/sh\necho x >> {shlex.quote(str(marker))}\necho done\n")
    script.chmod(0o755)
    spec = committed_repo / "spec.yaml"
    spec.write_text(f"name: coder\ntype: coder\nprovider:\n  type: command\n"
                    f"  command: {json.dumps(str(script))}\n")
    agent_id = _no_tty(committed_repo, "agents", "spawn", "coder", "--config",
                       "spec.yaml").stdout.strip()
    run = _no_tty(committed_repo, "agents", "run", agent_id, "-m", "go")
    assert run.returncode == 1
    assert str(script) in run.stderr
    assert "agent commands (coder) not approved: nothing ran" in run.stderr
    assert "`ossa-hooks trust`" in run.stderr
    assert not marker.exists()
    listed = _no_tty(committed_repo, "trust", "--show")
    assert f"agent commands (coder) (not approved):\n  {script}" in listed.stdout
    assert _no_tty(committed_repo, "trust").returncode == 0
    run = _no_tty(committed_repo, "agents", "run", agent_id, "-m", "go")
    assert run.returncode == 0, run.stderr
    assert marker.read_text() == "x\n"
    spec.write_text(spec.read_text().replace("  command:", "  args: [--more]\n  command:"))
    run = _no_tty(committed_repo, "agents", "run", agent_id, "-m", "go")
    assert run.returncode == 1 and "not approved" in run.stderr
    assert marker.read_text() == "x\n"


def test_spawn_approves_the_specs_it_writes(committed_repo: Path) -> None:
    """What `spawn` writes comes from the person running it: no question afterwards."""
    wt = committed_repo.parent / "wt"
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/t", str(wt))
    spawn = _no_tty(wt, "spawn", "do it", "--command", "true")
    assert spawn.returncode == 0, spawn.stderr
    shown = _no_tty(wt, "trust", "--show").stdout
    assert "agent commands (coder) (approved):\n  true" in shown
    assert "(not approved)" not in shown
