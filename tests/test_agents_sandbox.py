"""``sandbox: bwrap``, with a real bubblewrap: a probe agent tries to write outside its worktree,
read the user's SSH, AWS and GitHub credentials and another worktree's ``.env``, and reach the
network; each attempt is refused in the sandbox and succeeds without it (the control)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.agents import sandbox
from ossa_hooks.git import repo_paths


def _usable() -> str | None:
    exe = sandbox.bwrap()
    if exe is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    proc = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net", "--",
                           "true"], capture_output=True, check=False)
    if proc.returncode != 0:
        return f"bwrap cannot make namespaces here: {proc.stderr.decode().strip()}"
    return None


pytestmark = pytest.mark.skipif(_usable() is not None, reason=str(_usable()))

PROBE = r'''
import json, os, socket, sys
from pathlib import Path
home = Path(os.environ["HOME"])
report = {}
def attempt(name, fn):
    try:
        report[name] = ("ok", fn())
    except OSError as e:
        report[name] = ("refused", type(e).__name__)
def write(path):
    Path(path).write_text("agent was here\n")
    return "written"
attempt("write_worktree", lambda: write("inside.txt"))
attempt("write_main", lambda: write(os.environ["PROBE_MAIN"] + "/outside.txt"))
attempt("write_home", lambda: write(home / "leak.txt"))
attempt("read_ssh", lambda: (home / ".ssh" / "id_ed25519").read_text())
attempt("read_aws", lambda: (home / ".aws" / "credentials").read_text())
attempt("read_gh", lambda: (home / ".config" / "gh" / "hosts.yml").read_text())
attempt("read_other_env", lambda: Path(os.environ["PROBE_OTHER"], ".env").read_text())
report["interfaces"] = sorted(n for _, n in socket.if_nameindex())
print(json.dumps(report))
'''


@pytest.fixture
def setup(committed_repo: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(main worktree, the agent's worktree, another task's worktree), secrets in HOME."""
    home = Path(os.environ["HOME"])
    for rel, text in ((".ssh/id_ed25519", "PRIVATE KEY"), (".aws/credentials", "aws_secret"),
                      (".config/gh/hosts.yml", "oauth_token: gho_x")):
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text)
    mine, other = tmp_path / "mine", tmp_path / "other"
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/mine", str(mine))
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/other", str(other))
    (other / ".env").write_text("OPENAI_API_KEY=sk-other-task\n")
    (mine / "probe.py").write_text(PROBE)
    return committed_repo, mine, other


def _probe(main: Path, mine: Path, other: Path, sandbox_value: str) -> dict:  # type: ignore[type-arg]
    spec = mine / "probe.yaml"
    spec.write_text("name: coder\ntype: coder\nprovider:\n  type: command\n"
                    f"  command: {json.dumps(sys.executable + ' probe.py')}\n"
                    f"  env: {{PROBE_MAIN: {json.dumps(str(main))}, "
                    f"PROBE_OTHER: {json.dumps(str(other))}}}\n"
                    f"sandbox: {sandbox_value}\n")
    agent = ossa(mine, "agents", "spawn", "coder", "--config", "probe.yaml")
    assert agent.returncode == 0, agent.stderr
    run = ossa(mine, "agents", "run", agent.stdout.strip(), "-m", "probe")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[0])  # type: ignore[no-any-return]


def test_each_denial_in_the_sandbox(setup: tuple[Path, Path, Path]) -> None:
    main, mine, other = setup
    r = _probe(main, mine, other, "{type: bwrap, network: false}")
    assert r["write_worktree"] == ["ok", "written"] and (mine / "inside.txt").exists()
    assert r["write_main"] == ["refused", "OSError"] and not (main / "outside.txt").exists()
    assert r["write_home"] == ["refused", "OSError"]  # read-only file system
    # The credential folders are empty in the sandbox; the other task's .env reads empty.
    for key in ("read_ssh", "read_aws", "read_gh"):
        assert r[key] == ["refused", "FileNotFoundError"], (key, r[key])
    assert r["read_other_env"] == ["ok", ""]
    assert r["interfaces"] == ["lo"]


def test_the_same_probe_without_a_sandbox(setup: tuple[Path, Path, Path]) -> None:
    main, mine, other = setup
    r = _probe(main, mine, other, "none")
    assert r["write_main"] == ["ok", "written"]
    assert r["read_ssh"] == ["ok", "PRIVATE KEY"]
    assert r["read_aws"] == ["ok", "aws_secret"]
    assert r["read_other_env"] == ["ok", "OPENAI_API_KEY=sk-other-task\n"]
    assert r["interfaces"] == sorted(n for _, n in socket.if_nameindex())


def test_network_is_kept_when_asked(setup: tuple[Path, Path, Path]) -> None:
    main, mine, other = setup
    r = _probe(main, mine, other, "{type: bwrap, network: true}")
    assert r["interfaces"] == sorted(n for _, n in socket.if_nameindex())
    assert r["read_gh"][1] != "oauth_token: gho_x"


def test_doctor_says_whether_sandboxing_works(committed_repo: Path) -> None:
    found = sandbox.doctor_check(repo_paths(committed_repo))
    assert [(f.status, f.text) for f in found] == [
        ("ok", f"sandboxing available ({sandbox.bwrap()})")]
    proc = ossa(committed_repo, "doctor")
    assert f"sandbox: sandboxing available ({sandbox.bwrap()})" in proc.stdout
