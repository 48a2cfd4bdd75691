"""Live sessions with a real tmux server on a private socket (``tmux -L``): ``spawn
--interactive`` and ``agents run --interactive`` start the agent's CLI in a session named after
its task; what it prints is read with capture-pane; ``agents attach`` attaches a (pseudo)
terminal; the lease, the budget ledger and the audit trail apply as for a headless call."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks import git as ossa_git
from ossa_hooks.agents import budget
from ossa_hooks.agents import session
from ossa_hooks.worktree import lease

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed (apt-get install tmux); CI (.ci/run) must install it")

FAKE = Path(__file__).resolve().with_name("fake_interactive.py")
CONFIG = "hooks:\n  pre-commit: []\n  post-checkout: []\n  post-merge: []\n"


@pytest.fixture
def sock() -> Iterator[str]:
    name = f"ossa-test-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def wt(committed_repo: Path) -> Path:
    r = committed_repo
    (r / ".ossa-hooks.yaml").write_text(CONFIG)
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "config")
    assert ossa(r, "worktree", "create", "coder", "greet").returncode == 0
    return r / ".worktrees" / "repo-space__coder__greet"


def tmux(sock: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True,
                          check=False)


def wait_for(what: str, check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pane(sock: str, name: str = "ossa-greet") -> str:
    return tmux(sock, "capture-pane", "-p", "-t", name).stdout


def gone(sock: str, name: str = "ossa-greet") -> bool:
    return tmux(sock, "has-session", "-t", f"={name}").returncode != 0


def test_spawn_interactive_runs_the_coder_in_a_session(wt: Path, sock: str) -> None:
    env = {**os.environ, session.SOCKET_ENV: sock}
    proc = ossa(wt, "spawn", "Add a greet() function", "--provider", "command", "--command",
                shlex.join([sys.executable, str(FAKE)]), "--interactive", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (f"started coder-1 (command) in tmux session ossa-greet on socket {sock};"
            " attach: ossa-hooks agents attach coder-1") in proc.stdout
    # The program runs at a terminal, with the agent's identity; the task was typed in.
    wait_for("the first prompt", lambda: "noted: Add a greet() function" in pane(sock))
    assert "agent ready (task: greet, id: coder-1, tty: True)" in pane(sock)

    repo = ossa_git.repo_paths(wt)
    # While it runs: the registry says running, the worktree is leased, a second run refused.
    [rec] = json.loads(ossa(wt, "agents", "list", "--format", "json").stdout)
    assert rec["status"] == "running" and rec["pid"]
    held = lease.read(repo, wt)
    assert held is not None and held.holder == "agent coder-1" and lease.is_live(held)
    again = ossa(wt, "agents", "run", "coder-1", "--interactive", env=env)
    assert again.returncode == 1 and "agent coder-1 is already running" in again.stderr

    # A person types into it, then it ends.
    tmux(sock, "send-keys", "-t", "ossa-greet", "-l", "also add a test")
    tmux(sock, "send-keys", "-t", "ossa-greet", "Enter")
    wait_for("the typed line", lambda: "noted: also add a test" in pane(sock))
    tmux(sock, "send-keys", "-t", "ossa-greet", "-l", "bye")
    tmux(sock, "send-keys", "-t", "ossa-greet", "Enter")
    wait_for("the session to end", lambda: gone(sock))

    assert (wt / "notes.txt").read_text() == "Add a greet() function\nalso add a test\n"
    [rec] = json.loads(ossa(wt, "agents", "list", "--format", "json").stdout)
    assert (rec["status"], rec["pid"], rec["last_exit"], rec["calls"]) == ("done", None, 0, 1)
    assert lease.read(repo, wt) is None
    log = wt / ".agents-workspace/logs/session-coder.log"
    assert "noted: also add a test" in log.read_text(errors="replace")
    [tu] = budget.usage(repo, ["agents/coder/greet"])
    coder = tu.agent("coder")
    assert coder is not None and coder.used > 0 and coder.calls == 1
    assert coder.sources == ("tiktoken:cl100k_base:transcript",)
    trail = ossa(wt, "audit", "-n", "20").stdout
    assert re.search(r"agents\s+session-start\s+ok", trail)
    assert re.search(r"agents\s+session\s+ok", trail)


def test_agents_run_interactive_and_attach(wt: Path, sock: str) -> None:
    env = {**os.environ, session.SOCKET_ENV: sock}
    assert ossa(wt, "spawn", "Add a greet() function", "--provider", "command", "--command",
                shlex.join([sys.executable, str(FAKE)]), env=env).returncode == 0
    agent_id = ossa(wt, "agents", "spawn", "coder", env=env).stdout.strip()
    assert agent_id == "coder-1"
    headless = ossa(wt, "agents", "run", agent_id, env=env)
    assert headless.returncode == 2 and "needs --message TEXT (or --interactive)" in \
        headless.stderr
    proc = ossa(wt, "agents", "run", agent_id, "--interactive", env=env)
    assert proc.returncode == 0, proc.stderr
    wait_for("the agent", lambda: "agent ready (task: greet, id: coder-1" in pane(sock))
    assert "noted:" not in pane(sock)  # no first message: nothing typed in

    # Without a terminal, attach says how to read the pane instead.
    no_tty = ossa(wt, "agents", "attach", agent_id, env=env)
    assert no_tty.returncode == 2
    assert f"attach needs a terminal; to read what coder-1 printed: tmux -L {sock}" \
        " capture-pane -p -t ossa-greet" in no_tty.stderr

    # On a terminal it attaches: tmux lists the client; detaching returns.
    exe = Path(sys.executable).with_name("ossa-hooks")
    main, child = pty.openpty()
    attached = subprocess.Popen([str(exe), "agents", "attach", agent_id], cwd=wt, stdin=child,
                                stdout=child, stderr=child, env={**env, "TERM": "xterm"})
    os.close(child)
    try:
        wait_for("a client", lambda: tmux(sock, "list-clients").stdout.strip() != "")
        tmux(sock, "detach-client", "-s", "ossa-greet")
        assert attached.wait(timeout=30) == 0
    finally:
        if attached.poll() is None:
            attached.kill()
            attached.wait()
        os.close(main)

    tmux(sock, "send-keys", "-t", "ossa-greet", "-l", "bye")
    tmux(sock, "send-keys", "-t", "ossa-greet", "Enter")
    wait_for("the session to end", lambda: gone(sock))
    ended = ossa(wt, "agents", "attach", agent_id, env=env)
    assert ended.returncode == 2 and "the session of coder-1 (ossa-greet) has ended" in \
        ended.stderr


def test_terminate_ends_the_session(wt: Path, sock: str) -> None:
    env = {**os.environ, session.SOCKET_ENV: sock}
    assert ossa(wt, "spawn", "Add a greet() function", "--provider", "command", "--command",
                shlex.join([sys.executable, str(FAKE)]), "--interactive", env=env
                ).returncode == 0
    wait_for("the agent", lambda: "agent ready" in pane(sock))
    proc = ossa(wt, "agents", "terminate", "coder-1", "--grace", "10", env=env)
    assert proc.returncode == 0, proc.stderr
    wait_for("the session to end", lambda: gone(sock))
    repo = ossa_git.repo_paths(wt)
    wait_for("the lease to go", lambda: lease.read(repo, wt) is None)
    [rec] = json.loads(ossa(wt, "agents", "list", "--format", "json").stdout)
    assert (rec["status"], rec["pid"]) == ("terminated", None)
    [tu] = budget.usage(repo, ["agents/coder/greet"])
    assert tu.calls == 1  # the session is in the ledger even though it was ended


def test_no_tmux(wt: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("git") or "/usr/bin/git", bin_dir / "git")
    assert ossa(wt, "spawn", "x", "--provider", "command", "--command", "cat").returncode == 0
    agent_id = ossa(wt, "agents", "spawn", "coder").stdout.strip()
    proc = ossa(wt, "agents", "run", agent_id, "--interactive",
                env={**os.environ, "PATH": str(bin_dir)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("ossa-hooks: tmux is not installed: install it (apt-get"
                                   " install tmux), or run the agent headless (without"
                                   " --interactive)")


def test_interactive_programs() -> None:
    from ossa_hooks.agents import specs

    claude = specs.parse_spec("name: coder\ntype: coder\nprovider:\n  type: claude-code\n"
                              "  model: opus\n", "coder.yaml")
    assert session.interactive_argv(claude, "do it") == (
        ["claude", "--model", "opus", "do it"], True)
    aider = specs.parse_spec("name: coder\ntype: coder\nprovider: aider\n", "coder.yaml")
    assert session.interactive_argv(aider, "do it") == (["aider"], False)
    assert session.session_name("v1.2:fix") == "ossa-v1-2-fix"
