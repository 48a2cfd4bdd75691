"""Agent specs (file:line errors), providers' output, spawn/list/run/terminate of a real
scripted agent program."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.agents import record
from ossa_hooks.agents import specs as agents
from ossa_hooks.git import repo_paths

FAKE = Path(__file__).resolve().with_name("fake_agent.py")


def fake(*args: str) -> str:
    return shlex.join([str(FAKE), *args])


def write_spec(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


GOOD = """\
name: coder
type: coder
budget: 4000
provider:
  type: command
  command: {command}
prompt: "do {{task}}"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: coder\ntype: coder\nbudget: 10\nprovider: claud\n",
         "spec.yaml:4: provider.type: unknown value 'claud' (did you mean 'claude-code'?)"),
        ("name: coder\ntype: coder\nprovider:\n  type: command\n  args: [x]\n",
         "spec.yaml:3: provider.command: missing: provider 'command' needs the program"),
        ("name: coder\ntype: coder\nbudget: lots\nprovider: aider\n",
         "spec.yaml:3: budget: expected an integer"),
        ("name: coder\ntype: writer\nprovider: aider\n",
         "spec.yaml:2: type: unknown value 'writer'"),
        ("name: coder\ntype: coder\nprovider: {type: python, module: nocolon}\n",
         "spec.yaml:3: provider.module: provider 'python' needs module"),
        ("name: coder\ntype: coder\nprovider: aider\nmodel: x\n",
         "spec.yaml:4: model: unknown key"),
        ("type: coder\nprovider: aider\n", "spec.yaml:1: missing required key 'name'"),
    ],
)
def test_bad_specs_fail_with_file_and_line(committed_repo: Path, text: str, message: str) -> None:
    write_spec(committed_repo, text)
    proc = ossa(committed_repo, "agents", "spawn", "coder", "--config", "spec.yaml")
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_spawn_list_run_with_provider_and_tiktoken_usage(committed_repo: Path) -> None:
    r = committed_repo
    write_spec(r, GOOD.format(command=json.dumps(fake())), "coder.yaml")
    write_spec(r, GOOD.format(command=json.dumps(fake("--usage", "none"))).replace(
        "name: coder", "name: coder2"), "coder2.yaml")
    a = ossa(r, "agents", "spawn", "coder", "--config", "coder.yaml")
    b = ossa(r, "agents", "spawn", "coder", "--config", "coder2.yaml")
    assert (a.returncode, b.returncode) == (0, 0), a.stderr + b.stderr
    id_a, id_b = a.stdout.strip(), b.stdout.strip()
    assert (id_a, id_b) == ("coder-1", "coder2-2")

    run = ossa(r, "agents", "run", id_a, "--message", "please add greet")
    assert run.returncode == 0, run.stderr
    assert "Changed hello.py" in run.stdout
    assert "3 prompt + 40 output tokens (provider:command)" in run.stdout
    assert (r / "hello.py").exists()
    run = ossa(r, "agents", "run", id_b, "--message", "please add greet")
    assert run.returncode == 0, run.stderr
    assert "(tiktoken:cl100k_base)" in run.stdout

    listing = json.loads(ossa(r, "agents", "list", "--format", "json").stdout)
    assert [(x["id"], x["status"], x["calls"]) for x in listing] == [
        ("coder-1", "done", 1), ("coder2-2", "done", 1)]
    doc = json.loads(ossa(r, "budget", "report", "--format", "json").stdout)
    assert doc["agents"]["coder"]["used"] == 43
    assert doc["agents"]["coder"]["budget"] == 4000
    log = record.log_path(repo_paths(r), "main", "coder").read_text()
    assert "coder-1 adhoc" in log and "Changed hello.py" in log


def test_python_provider(committed_repo: Path) -> None:
    r = committed_repo
    (r / "myagent.py").write_text(
        "def run(prompt):\n"
        "    return {'text': 'python says ' + prompt.upper(), "
        "'usage': {'input_tokens': 11, 'output_tokens': 22}}\n")
    write_spec(r, "name: coder\ntype: coder\nprovider: {type: python, module: 'myagent:run'}\n")
    agent_id = ossa(r, "agents", "spawn", "coder", "--config", "spec.yaml").stdout.strip()
    run = ossa(r, "agents", "run", agent_id, "-m", "hi")
    assert run.returncode == 0, run.stderr
    assert "python says HI" in run.stdout
    assert "11 prompt + 22 output tokens (provider:python)" in run.stdout


def test_missing_program_names_it(committed_repo: Path) -> None:
    r = committed_repo
    write_spec(r, GOOD.format(command="no-such-agent-program --flag"))
    agent_id = ossa(r, "agents", "spawn", "coder", "--config", "spec.yaml").stdout.strip()
    run = ossa(r, "agents", "run", agent_id, "-m", "hi")
    assert run.returncode == 1
    assert "'no-such-agent-program' is not installed" in run.stderr
    assert "spec.yaml" in run.stderr
    run = ossa(r, "agents", "terminate", agent_id)
    assert run.returncode == 1 and "is not running" in run.stderr


def test_terminate_ends_the_whole_process_group(committed_repo: Path, tmp_path: Path) -> None:
    r = committed_repo
    pidfile = tmp_path / "pids"
    write_spec(r, GOOD.format(command=json.dumps(
        fake("--hang-phase", "any", "--pidfile", str(pidfile)))))
    agent_id = ossa(r, "agents", "spawn", "coder", "--config", "spec.yaml").stdout.strip()
    exe = Path(sys.executable).with_name("ossa")
    runner = subprocess.Popen([str(exe), "agents", "run", agent_id, "-m", "hang"], cwd=r,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(400):
            if pidfile.exists() and pidfile.read_text().endswith("\n"):
                break
            time.sleep(0.05)
        agent_pid, child_pid = map(int, pidfile.read_text().split())
        listing = ossa(r, "agents", "list", "--running").stdout
        assert agent_id in listing and "running" in listing
        term = ossa(r, "agents", "terminate", agent_id, "--grace", "2")
        assert term.returncode == 0, term.stderr
        assert f"terminated agent {agent_id}" in term.stdout
        _, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 1
    assert f"agent {agent_id} was terminated" in err
    for pid in (agent_pid, child_pid):
        assert not _alive(pid), pid
    status = json.loads(ossa(r, "agents", "list", "--format", "json").stdout)[0]["status"]
    assert status == "terminated"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_spawn_writes_specs_workflow_and_script(committed_repo: Path) -> None:
    r = committed_repo
    (r / ".ossa-hooks.yaml").write_text("budget:\n  task: 9000\n  agents: {coder: 5000}\n")
    proc = ossa(r, "spawn", "Add a greet() function", "--provider", "command",
                "--command", fake())
    assert proc.returncode == 2 and "in the main worktree" in proc.stderr
    proc = ossa(r, "spawn", "Add a greet() function", "--provider", "command",
                "--command", fake(), "--here")
    assert proc.returncode == 0, proc.stderr
    ws = r / ".agents-workspace"
    for name in ("researcher", "coder", "reviewer"):
        spec = agents.load_spec(ws / "agents" / f"{name}.yaml")
        assert spec.provider.type == "command" and spec.provider.command == fake()
    assert agents.load_spec(ws / "agents" / "coder.yaml").budget == 5000
    assert agents.load_spec(ws / "agents" / "reviewer.yaml").budget == 2000
    assert 'task: "Add a greet() function"' in (ws / "workflows" / "360-loop.yaml").read_text()
    assert os.access(ws / "execute-task.sh", os.X_OK)
    doc = json.loads(ossa(r, "budget", "report", "--format", "json").stdout)
    assert doc["task"]["budget"] == 9000
    assert doc["agents"]["researcher"]["budget"] == 4000
    # What spawn wrote is neither committed nor counted as uncommitted work.
    status = git(r, "status", "--porcelain", "--untracked-files=all").stdout
    assert ".agents-workspace" not in status and status == "?? .ossa-hooks.yaml\n"
    again = ossa(r, "spawn", "x", "--command", fake(), "--here")
    assert again.returncode == 2 and "--force" in again.stderr
    bad = ossa(r, "spawn", "x", "--provider", "command", "--force", "--here")
    assert bad.returncode == 2 and "needs --command" in bad.stderr
    preset = ossa(r, "spawn", "x", "--provider", "codex", "--force", "--here")
    assert preset.returncode == 0
    assert agents.load_spec(ws / "agents" / "coder.yaml").provider.type == "codex"


def test_terminate_unknown_agent(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "agents", "terminate", "ghost-1")
    assert proc.returncode == 2 and "no agent 'ghost-1'" in proc.stderr
    assert signal.SIGTERM  # the module is used for the constant only


def test_a_timeout_ends_the_group_and_fails_the_call(committed_repo: Path,
                                                     tmp_path: Path) -> None:
    r = committed_repo
    pidfile = tmp_path / "pids"
    write_spec(r, GOOD.format(command=json.dumps(
        fake("--hang-phase", "any", "--pidfile", str(pidfile)))).replace(
        "  command:", "  timeout: 2\n  command:"))
    agent_id = ossa(r, "agents", "spawn", "coder", "--config", "spec.yaml").stdout.strip()
    run = ossa(r, "agents", "run", agent_id, "-m", "hang")
    assert run.returncode == 1
    assert "agent coder timed out after 2 s (its process group was killed; log: " in run.stderr
    agent_pid, child_pid = map(int, pidfile.read_text().split())
    assert not _alive(agent_pid) and not _alive(child_pid)
    listing = json.loads(ossa(r, "agents", "list", "--format", "json").stdout)
    assert listing[0]["status"] == "failed"


def test_a_running_agents_work_is_snapshotted_as_it_changes(committed_repo: Path,
                                                             tmp_path: Path) -> None:
    """The runner watches the agent's worktree while it runs: what the agent wrote and then
    destroyed (its own `rm`) is on a backup branch; the watcher ends with the call."""
    r = committed_repo
    agent = tmp_path / "destroyer.sh"
    agent.write_text(
        "#!/bin/sh\n"
        "echo 'precious results' > work.txt\n"
        "i=0\n"  # wait (bounded) until the watcher has saved it, then destroy it
        "while [ $i -lt 600 ]; do\n"
        "  for b in $(git for-each-ref --format='%(refname)' refs/heads/backup/); do\n"
        "    git cat-file -e \"$b:work.txt\" 2>/dev/null && { rm work.txt; echo gone; exit 0; }\n"
        "  done\n"
        "  i=$((i+1)); sleep 0.1\n"
        "done\n"
        "echo 'no snapshot came'; exit 3\n")
    agent.chmod(0o755)
    write_spec(r, GOOD.format(command=json.dumps(str(agent))))
    agent_id = ossa(r, "agents", "spawn", "coder", "--config", "spec.yaml").stdout.strip()
    run = ossa(r, "agents", "run", agent_id, "-m", "go")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "gone" in run.stdout
    assert not (r / "work.txt").exists()
    branches = git(r, "for-each-ref", "--format=%(refname)", "refs/heads/backup/").stdout.split()
    assert any(git(r, "show", f"{b}:work.txt", check=False).stdout == "precious results\n"
               for b in branches)
    watching = [line for line in ossa(r, "doctor").stdout.splitlines() if "watch" in line]
    assert not any("watching" in line for line in watching), watching
