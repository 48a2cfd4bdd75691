"""The loop's outcomes and its processes, for real: SIGTERM and SIGHUP of the runner end the
agent's process group and record the phase as interrupted; a runner killed with SIGKILL leaves
an orphan that `--resume` refuses to start beside; the worktree's lease is held while the loop
runs; a coder that changes nothing fails; a phase run again adds a row and the verdict again;
the record outlives the worktree; the reviewer's prompt is compacted to fit its budget."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from test_agents_workflow import CONFIG
from test_agents_workflow import _gone
from test_agents_workflow import _wait_for
from test_agents_workflow import make_base
from test_agents_workflow import phase_list
from test_agents_workflow import status
from test_agents_workflow import task_worktree

from ossa_hooks.agents import record
from ossa_hooks.git import repo_paths
from ossa_hooks.worktree import lease

EXE = str(Path(sys.executable).with_name("ossa-hooks"))


@pytest.fixture
def base(committed_repo: Path) -> Path:
    return make_base(committed_repo)


def _start(wt: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([EXE, "workflow", "run", *args], cwd=wt, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_end_the_agents_group(base: Path, sig: signal.Signals) -> None:
    pidfile = base.parent / "pids"
    wt = task_worktree(base, "hangs", "--hang-phase", "2_execute", "--once",
                       "--pidfile", str(pidfile))
    runner = _start(wt)
    try:
        agent_pid, child_pid = _wait_for(pidfile)
        held = lease.read(repo_paths(wt), wt)
        assert held is not None and held.holder == "workflow 1" and held.pid == runner.pid
        runner.send_signal(sig)
        _, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130 and "interrupted" in err
    assert _gone(agent_pid) and _gone(child_pid)
    doc = status(wt)
    assert doc["status"] == "interrupted" and sig.name in doc["reason"]
    assert doc["phases"][-1]["name"] == "2_execute"
    assert doc["phases"][-1]["status"] == "interrupted"
    assert lease.read(repo_paths(wt), wt) is None  # given back
    kinds = [e.kind for e in record.events(repo_paths(wt), workflow=1)]
    assert kinds[-1] == "interrupted"
    resumed = ossa(wt, "workflow", "run", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr


def test_resume_refuses_beside_an_orphan(base: Path) -> None:
    pidfile = base.parent / "pids"
    wt = task_worktree(base, "orphan", "--hang-phase", "2_execute", "--once",
                       "--pidfile", str(pidfile))
    runner = _start(wt)
    try:
        agent_pid, child_pid = _wait_for(pidfile)
        runner.send_signal(signal.SIGKILL)  # nothing can be cleaned up: the agent lives on
        runner.communicate(timeout=60)
        assert not _gone(agent_pid)
        resumed = ossa(wt, "workflow", "run", "--resume")
        assert resumed.returncode == 1
        assert "agent coder-2 of workflow 1 is still running" in resumed.stderr
        assert "ossa agents terminate coder-2" in resumed.stderr
        fresh = ossa(wt, "workflow", "run")
        assert fresh.returncode == 1 and "ossa agents terminate coder-2" in fresh.stderr
        assert ossa(wt, "agents", "terminate", "coder-2", "--grace", "2").returncode == 0
    finally:
        for pid in (agent_pid, child_pid):
            if not _gone(pid):
                subprocess.run(["kill", "-9", str(pid)], check=False)
    assert _gone(agent_pid) and _gone(child_pid)
    resumed = ossa(wt, "workflow", "run", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert status(wt)["status"] == "succeeded"


def test_a_coder_that_changes_nothing_fails(base: Path) -> None:
    wt = task_worktree(base, "idle", "--no-edit")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1
    assert "2_execute: the coder changed nothing" in proc.stdout
    doc = status(wt)
    assert doc["status"] == "failed"
    assert phase_list(doc) == [("1_plan", 1, "passed"), ("2_execute", 1, "failed")]
    report = json.loads((wt / ".agents-workspace" / "metrics" / "compliance-1.json").read_text())
    assert report["status"] == "failed" and "changed nothing" in report["reason"]


def test_a_coder_that_commits_its_change_itself_passes(base: Path) -> None:
    """The coder's own commit on its branch (through the hooks, the guard allowing it) is its
    change: the phase passes with that commit, not "the coder changed nothing"."""
    wt = task_worktree(base, "selfcommit", "--commit")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = git(wt, "rev-parse", "HEAD").stdout.strip()
    assert git(wt, "log", "-1", "--format=%s").stdout.strip() == "coder: greet"
    assert "2_execute  round 1: passed" in proc.stdout
    assert f"committed {head[:10]} (1 file(s))" in proc.stdout
    assert status(wt)["status"] == "succeeded"


def test_a_phase_again_on_a_finished_workflow(base: Path) -> None:
    wt = task_worktree(base, "again")
    assert ossa(wt, "workflow", "run").returncode == 0
    before = status(wt)["budget"]["task"]["used"]
    proc = ossa(wt, "workflow", "execute", "phase", "--name", "1_plan")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = status(wt)
    assert doc["id"] == 1 and doc["status"] == "succeeded"  # not "paused"
    names = [n for n, _, _ in phase_list(doc)]
    assert names.count("1_plan") == 2 and names.count("6_govern") == 2  # rows added, not lost
    phase_tokens = sum(p["tokens"] for p in doc["phases"])
    assert phase_tokens == doc["budget"]["task"]["used"] > before


def test_escalation_stays_on_record_after_the_budget_is_raised(base: Path) -> None:
    wt = task_worktree(base, "raise", "--output-tokens", "5000")
    assert ossa(wt, "workflow", "run").returncode == 1
    (wt / ".ossa-hooks.yaml").write_text(CONFIG.replace(
        "budget:\n", "budget:\n  task: 90000\n  agents: {researcher: 40000, coder: 40000, "
        "reviewer: 40000}\n"))
    env = wt / ".env"
    env.write_text(env.read_text().replace("OSSA_TOKEN_BUDGET_TASK=12000",
                                           "OSSA_TOKEN_BUDGET_TASK=90000"))
    loop = wt / ".agents-workspace" / "workflows" / "360-loop.yaml"
    loop.write_text(loop.read_text().replace("budget: 12000", "budget: 90000"))
    spec = wt / ".agents-workspace" / "agents"
    for name in ("researcher", "coder", "reviewer"):
        path = spec / f"{name}.yaml"
        path.write_text(path.read_text().replace("budget: 4000", "budget: 40000")
                        .replace("budget: 2000", "budget: 40000"))
    resumed = ossa(wt, "workflow", "run", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    doc = status(wt)
    assert len(doc["budget"]["escalations"]) == 1
    assert "researcher used 5," in doc["budget"]["escalations"][0]["reason"]
    report = (wt / ".agents-workspace" / "metrics" / "compliance-1.md").read_text()
    assert "## Escalations" in report and "**ESCALATED**" in report
    assert "1 escalation(s) on record, budget raised since" in report


def test_the_record_outlives_the_worktree(base: Path) -> None:
    wt = task_worktree(base, "gone")
    assert ossa(wt, "workflow", "run").returncode == 0
    git(base, "worktree", "remove", "--force", str(wt))
    logs = ossa(base, "workflow", "logs", "--workflow", "1")
    assert logs.returncode == 0
    assert "2_execute coder prompt" in logs.stdout and "Changed hello.py" in logs.stdout
    assert "3_review reviewer verdict" in logs.stdout and "4_judge judge" in logs.stdout
    repo = repo_paths(base)
    report = record.task_dir(repo, "agents/coder/gone") / "compliance-1.md"
    assert "status: **succeeded**" in report.read_text()
    assert (record.task_dir(repo, "agents/coder/gone") / "agent-coder.log").exists()


def test_logs_of_a_workflow_with_nothing_on_record(base: Path) -> None:
    wt = task_worktree(base, "bare", spawn=False)
    assert ossa(wt, "spawn", "x", "--command", "no-such-agent").returncode == 0
    assert ossa(wt, "workflow", "run").returncode == 1
    logs = ossa(wt, "workflow", "logs")
    assert logs.returncode == 0
    assert "1_plan researcher error" in logs.stdout and "'no-such-agent' is not" in logs.stdout
    (repo_paths(wt).state_dir / record.DB_NAME).unlink()  # a record lost, or never written
    logs = ossa(wt, "workflow", "logs")
    assert logs.returncode == 0
    assert logs.stdout == "workflow 1: nothing on record (no agent call or verdict was " \
                          "recorded for it)\n"


def test_show_budget_is_the_workflows_own(base: Path) -> None:
    wt = task_worktree(base, "twice")
    assert ossa(wt, "workflow", "run").returncode == 0
    assert ossa(wt, "workflow", "run").returncode == 0  # a second workflow, same task
    second = status(wt)
    assert second["id"] == 2 and second["budget"]["task"]["calls"] == 3
    task = json.loads(ossa(wt, "budget", "report", "--format", "json").stdout)
    assert task["task"]["calls"] == 6


def test_a_large_diff_is_compacted_for_the_reviewer(base: Path) -> None:
    tight = CONFIG.replace(
        "budget:\n", "budget:\n  agents: {researcher: 4000, coder: 4000, reviewer: 1200}\n")
    wt = task_worktree(base, "big", config=tight)
    body = "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n\n"
                   for i in range(300))
    (wt / "handlers.py").write_text(body)
    git(wt, "add", "handlers.py")
    git(wt, "commit", "-q", "-m", "many handlers")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prompt = (wt / ".agents-workspace" / "data" / "prompt-reviewer.txt").read_text()
    assert "the diff is too large for the reviewer's budget" in prompt
    # The stat names every file (names padded to the longest).
    assert re.search(r"handlers\.py +\| 900 ", prompt) and re.search(r"hello\.py +\| ", prompt)
    assert "+def greet(name):" in prompt  # the hunk that matters to the task fits
    assert "hunks left out: 1" in prompt
    assert status(wt)["budget"]["agents"]["reviewer"]["used"] <= 1200


def test_agents_never_run_in_the_main_worktree_unasked(base: Path) -> None:
    proc = ossa(base, "spawn", "x", "--command", "true")
    assert proc.returncode == 2
    assert "spawning agents in the main worktree would let agents commit onto main" in (
        proc.stderr)
    for args in (("workflow", "run"), ("workflow", "execute", "phase", "--name", "1_plan")):
        proc = ossa(base, *args)
        assert proc.returncode == 2 and "--here" in proc.stderr
