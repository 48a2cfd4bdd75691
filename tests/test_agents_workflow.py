"""The 360° loop end to end, with a real scripted agent program (tests/fake_agent.py) in real
task worktrees: approve, request changes, judge failure, budget escalation, crash and resume,
two workflows at once, a missing agent program, one phase at a time, logs, memories."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.agents import phases as phases

FAKE = Path(__file__).resolve().with_name("fake_agent.py")

CONFIG = """\
judge:
  cache: false
  checks:
    tests: {enabled: false}
    lint: {enabled: false}
    security: {enabled: false}
    nobroken:
      run: test ! -e broken.txt
      timeout: 60
budget:
  escalate_command: >-
    echo "$OSSA_TASK_NAME: $OSSA_ESCALATION_REASON" > "$OSSA_WORKTREE/escalated.txt"
"""


@pytest.fixture
def base(committed_repo: Path) -> Path:
    return make_base(committed_repo)


def make_base(r: Path, config: str = CONFIG) -> Path:
    """A repository with ossa-hooks installed and a config whose judge runs one quick check."""
    assert ossa(r, "install").returncode == 0
    (r / ".ossa-hooks.yaml").write_text(config)
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "config")
    return r


def task_worktree(base: Path, task: str, *fake_args: str, config: str | None = None,
                  spawn: bool = True) -> Path:
    """A task worktree made by `ossa-hooks worktree create coder TASK` (or, where that command
    is not installed, by git with the same branch and .env), with the agents spawned on the fake
    agent program."""
    made = ossa(base, "worktree", "create", "coder", task)
    if made.returncode == 0:
        line = next(x for x in made.stdout.splitlines() if x.startswith("worktree: "))
        wt = Path(line.removeprefix("worktree: "))
    else:
        assert "invalid choice: 'worktree'" in made.stderr, made.stderr
        wt = base.parent / f"wt-{task}"
        git(base, "worktree", "add", "-q", "-b", f"agents/coder/{task}", str(wt), "main")
        (wt / ".env").write_text(
            f"OSSA_REPO_NAME=repo\nOSSA_AGENT_TYPE=coder\nOSSA_TASK_NAME={task}\n"
            f"OSSA_TOKEN_BUDGET_TASK=12000\nOSSA_BASE_BRANCH=main\n"
            f"OSSA_BRANCH=agents/coder/{task}\nOSSA_WORKTREE={wt}\n"
            f"OSSA_INTEGRATION_BRANCH=main-agents-merge\n")
    if config is not None:
        (wt / ".ossa-hooks.yaml").write_text(config)
    if spawn:
        command = shlex.join([str(FAKE), *fake_args])
        proc = ossa(wt, "spawn", f"Add a greet() function ({task})", "--provider", "command",
                    "--command", command)
        assert proc.returncode == 0, proc.stderr
    return wt


def status(wt: Path) -> dict:  # type: ignore[type-arg]
    proc = ossa(wt, "workflow", "status", "--format", "json", "--show-budget")
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    return docs[-1] if isinstance(docs, list) else docs


def phase_list(doc: dict) -> list[tuple[str, int, str]]:  # type: ignore[type-arg]
    return [(p["name"], p["round"], p["status"]) for p in doc["phases"]]


def test_full_approve_path(base: Path) -> None:
    wt = task_worktree(base, "greet")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "workflow 1: succeeded; tokens" in proc.stdout
    doc = status(wt)
    assert doc["status"] == "succeeded"
    assert phase_list(doc) == [("1_plan", 1, "passed"), ("2_execute", 1, "passed"),
                               ("3_review", 1, "passed"), ("4_judge", 1, "passed"),
                               ("5_learn", 1, "passed"), ("6_govern", 1, "passed")]
    ws = wt / ".agents-workspace"
    assert (ws / "data" / "plan.md").read_text().startswith("## Plan")
    assert "## Round 1: approve" in (ws / "data" / "review.md").read_text()
    # The coder's change is committed on the agent branch; the workspace and .env are not.
    files = git(wt, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert files == ["hello.py"]
    assert git(wt, "status", "--porcelain", "--", "hello.py").stdout == ""
    # The plan the researcher got had the repository map; the reviewer got the diff.
    assert ".ossa-hooks.yaml" in (ws / "data" / "prompt-researcher.txt").read_text()
    assert "+def greet(name):" in (ws / "data" / "prompt-reviewer.txt").read_text()
    assert doc["budget"]["agents"]["coder"]["used"] > 0
    assert doc["budget"]["agents"]["coder"]["sources"] == ["provider:command"]
    report = json.loads((ws / "metrics" / "compliance-1.json").read_text())
    assert report["status"] == "succeeded"
    assert [c["name"] for c in report["criteria"] if c["passed"]] == [
        "review_approved", "judge_passed", "within_budget"]
    assert "## Success criteria" in (ws / "metrics" / "compliance-1.md").read_text()
    # What was learnt is searchable from the main worktree.
    mem = ossa(base, "workflow", "memory", "greet")
    assert "[greet, task]" in mem.stdout and "hello.py" in mem.stdout
    # Logs of the agents, prefixed with the agent's name; status from another worktree.
    logs = ossa(wt, "workflow", "logs")
    assert "1_plan researcher prompt (tokens " in logs.stdout
    assert "1_plan researcher answer (prompt tokens" in logs.stdout
    assert "    ## Plan" in logs.stdout and "    VERDICT: approve" in logs.stdout
    assert logs.stdout.index("researcher prompt") < logs.stdout.index("coder prompt")
    text = ossa(base, "workflow", "status", "--workflow", "1", "--show-budget").stdout
    assert "workflow 1: succeeded" in text and "task greet (agents/coder/greet)" in text


def test_request_changes_round_then_approve(base: Path) -> None:
    wt = task_worktree(base, "rounds", "--review", "changes-once")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = status(wt)
    assert [(n, r) for n, r, _ in phase_list(doc)] == [
        ("1_plan", 1), ("2_execute", 1), ("3_review", 1), ("2_execute", 2), ("3_review", 2),
        ("4_judge", 2), ("5_learn", 2), ("6_govern", 2)]
    ws = wt / ".agents-workspace"
    review = (ws / "data" / "review.md").read_text()
    assert "## Round 1: request changes" in review and "## Round 2: approve" in review
    assert "- greet() needs a docstring" in (ws / "data" / "prompt-coder.txt").read_text()
    assert len(git(wt, "rev-list", "main..HEAD").stdout.split()) == 2


def test_changes_requested_every_round_fails(base: Path) -> None:
    wt = task_worktree(base, "never", "--review", "never",
                       config=CONFIG + "workflow:\n  max_review_rounds: 1\n")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1
    assert "changes still requested after 1 review round(s)" in proc.stdout
    doc = status(wt)
    assert doc["status"] == "failed"
    assert "review_approved: last verdict: request changes" in doc["reason"]
    assert [n for n, _, _ in phase_list(doc)].count("3_review") == 2


def test_judge_failure_fails_the_task(base: Path) -> None:
    wt = task_worktree(base, "broken", "--break")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "4_judge" in proc.stdout and "failed: nobroken" in proc.stdout
    doc = status(wt)
    assert doc["status"] == "failed" and "judge_passed" in doc["reason"]
    # learn and govern still ran: the failure is recorded and reported.
    assert ("6_govern", 1, "failed") in phase_list(doc)


def test_budget_escalation_after_an_overrun(base: Path) -> None:
    wt = task_worktree(base, "spendy", "--output-tokens", "5000")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1
    assert "escalated: researcher used 5," in proc.stderr
    assert "of its 4,000 tokens" in proc.stderr
    doc = status(wt)
    assert doc["status"] == "escalated"
    assert phase_list(doc) == [("1_plan", 1, "escalated")]
    assert doc["phases"][0]["tokens"] == doc["budget"]["agents"]["researcher"]["used"] > 5000
    reason = (wt / "escalated.txt").read_text()
    assert reason.startswith("spendy: researcher used")
    assert (wt / ".agents-workspace" / "metrics" / "compliance-1.md").exists()
    events = json.loads(ossa(base, "audit", "--format", "json", "--name", "escalation").stdout)
    assert events and events[-1]["outcome"] == "escalated"


def test_budget_escalation_before_a_call(base: Path) -> None:
    tight = CONFIG.replace(
        "budget:\n", "budget:\n  agents: {researcher: 10, coder: 4000, reviewer: 2000}\n")
    wt = task_worktree(base, "tiny", config=tight)
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1
    assert "but only 10 of its 10 are left" in proc.stderr
    doc = status(wt)
    assert doc["status"] == "escalated"
    assert doc["budget"]["agents"]["researcher"]["calls"] == 0


def test_crash_and_resume(base: Path) -> None:
    wt = task_worktree(base, "crashy", "--crash-phase", "2_execute")
    first = ossa(wt, "workflow", "run")
    assert first.returncode == -9  # the runner was killed in the middle of 2_execute
    doc = status(wt)
    assert doc["status"] == "crashed"
    assert phase_list(doc) == [("1_plan", 1, "passed"), ("2_execute", 1, "running")]
    text = ossa(wt, "workflow", "status").stdout
    assert "workflow run --resume" in text
    # The runner was killed, not its agent: the agent ends its call on its own, and the resume
    # refuses (naming it) while it runs. On a quiet machine the status above is faster than it.
    second = ossa(wt, "workflow", "run", "--resume")
    for _ in range(150):
        if "is still running" not in second.stderr:
            break
        time.sleep(0.2)
        second = ossa(wt, "workflow", "run", "--resume")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1_plan     round 1: passed before" in second.stdout
    doc = status(wt)
    assert doc["id"] == 1 and doc["status"] == "succeeded"
    assert doc["budget"]["agents"]["researcher"]["calls"] == 1


def test_two_workflows_in_two_worktrees_at_once(base: Path) -> None:
    one = task_worktree(base, "one")
    two = task_worktree(base, "two")
    exe = Path(sys.executable).with_name("ossa-hooks")
    procs = [subprocess.Popen([str(exe), "workflow", "run"], cwd=wt, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for wt in (one, two)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    every = json.loads(ossa(base, "workflow", "status", "--all", "--format", "json").stdout)
    assert sorted((w["task"], w["status"]) for w in every) == [
        ("one", "succeeded"), ("two", "succeeded")]
    report = json.loads(ossa(base, "budget", "report", "--all", "--format", "json").stdout)
    assert {t["task"]["name"] for t in report["tasks"]} == {"one", "two"}
    assert report["task"]["budget"] == 24000


def test_memories_reach_the_next_plan(base: Path) -> None:
    first = task_worktree(base, "first")
    assert ossa(first, "workflow", "run").returncode == 0
    second = task_worktree(base, "second")
    assert ossa(second, "workflow", "run").returncode == 0
    prompt = (second / ".agents-workspace" / "data" / "prompt-researcher.txt").read_text()
    assert "[first, task] Add a greet() function (first)" in prompt


def test_missing_agent_program_fails_its_phase(base: Path) -> None:
    wt = task_worktree(base, "absent", spawn=False)
    assert ossa(wt, "spawn", "x", "--command", "no-such-agent --go").returncode == 0
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1
    assert "1_plan: agent researcher (command): 'no-such-agent' is not installed" in proc.stdout
    assert status(wt)["status"] == "failed"


def test_one_phase_at_a_time_then_resume(base: Path) -> None:
    wt = task_worktree(base, "steps")
    proc = ossa(wt, "workflow", "execute", "phase", "--name", "1_plan")
    assert proc.returncode == 0, proc.stderr
    doc = status(wt)
    assert doc["status"] == "paused" and phase_list(doc) == [("1_plan", 1, "passed")]
    proc = ossa(wt, "workflow", "execute", "phase", "--name", "2_execute", "--workflow", "1")
    assert proc.returncode == 0, proc.stderr
    proc = ossa(wt, "workflow", "run", "--resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(status(wt)["phases"]) == 6


def test_orchestrate_with_a_definition_file(base: Path) -> None:
    wt = task_worktree(base, "orch")
    definition = wt / "short.yaml"
    definition.write_text("task: plan only\nphases: [1_plan, 5_learn]\nsuccess:\n"
                          "  review_approved: false\n  judge_passed: false\n")
    proc = ossa(wt, "workflow", "orchestrate", "--config", str(definition))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = status(wt)
    assert phase_list(doc) == [("1_plan", 1, "passed"), ("5_learn", 1, "passed")]


def test_bad_definition_is_a_file_line_error(base: Path, tmp_path: Path) -> None:
    wt = task_worktree(base, "baddef")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: x\nphases:\n  - 3_review\n  - 1_plan\n")
    proc = ossa(wt, "workflow", "orchestrate", "--config", str(bad))
    assert proc.returncode == 2
    assert "bad.yaml:2: phases: phases run in this order" in proc.stderr
    bad.write_text("task: x\nphases:\n  - 1_plan\n  - 7_party\n")
    proc = ossa(wt, "workflow", "orchestrate", "--config", str(bad))
    assert proc.returncode == 2 and "bad.yaml:4: phases[1].name: unknown value" in proc.stderr


def test_parse_review() -> None:
    assert phases.parse_review("VERDICT: approve\n- fine") == ("approve", ["fine"])
    assert phases.parse_review("**Verdict:** Request changes\n* a\n* b") == (
        "request changes", ["a", "b"])
    assert phases.parse_review('{"verdict": "approve", "findings": []}') == ("approve", [])
    verdict, findings = phases.parse_review("looks fine to me")
    assert verdict == "request changes" and "no verdict" in findings[0]


def test_no_workflow_yet(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "workflow", "status")
    assert proc.returncode == 1 and "no workflow has run" in proc.stderr
    proc = ossa(committed_repo, "workflow", "run")
    assert proc.returncode == 2 and "in the main worktree" in proc.stderr
    assert "--here" in proc.stderr
    proc = ossa(committed_repo, "workflow", "run", "--here")
    assert proc.returncode == 2 and "ossa-hooks spawn" in proc.stderr


def _wait_for(path: Path) -> tuple[int, int]:
    import time

    for _ in range(600):
        if path.exists() and path.read_text().endswith("\n"):
            a, b = path.read_text().split()
            return int(a), int(b)
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_ctrl_c_follow_logs_and_resume(base: Path) -> None:
    import signal

    pidfile = base.parent / "pids"
    wt = task_worktree(base, "hangs", "--hang-phase", "2_execute", "--once",
                       "--pidfile", str(pidfile))
    exe = str(Path(sys.executable).with_name("ossa-hooks"))
    # A shell without job control starts background commands with SIGINT ignored, and that is
    # inherited: give the runner the default disposition a terminal's foreground job has.
    runner = subprocess.Popen([exe, "workflow", "run"], cwd=wt, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    follower = None
    try:
        agent_pid, child_pid = _wait_for(pidfile)
        follower = subprocess.Popen([exe, "workflow", "logs", "-f"], cwd=wt,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        running = json.loads(ossa(base, "agents", "list", "--running", "--format", "json").stdout)
        assert [a["name"] for a in running] == ["coder"]
        runner.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal does
        _, err = runner.communicate(timeout=60)
        followed, _ = follower.communicate(timeout=60)
    finally:
        for p in (runner, follower):
            if p is not None and p.poll() is None:
                p.kill()
    assert runner.returncode == 130 and "interrupted" in err
    assert _gone(agent_pid) and _gone(child_pid)
    assert follower.returncode == 0 and "    ## Plan" in followed
    doc = status(wt)
    assert doc["status"] == "interrupted"
    assert phase_list(doc)[-1] == ("2_execute", 1, "interrupted")
    resumed = ossa(wt, "workflow", "run", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert status(wt)["status"] == "succeeded"


def test_the_coders_commit_goes_through_the_hooks(committed_repo: Path) -> None:
    """A pre-commit hook that refuses the change (here a hook that was there before ossa-hooks,
    which the installed shim runs first) fails 2_execute with the hook's message."""
    r = committed_repo
    hooks = Path(git(r, "rev-parse", "--git-path", "hooks").stdout.strip())
    if not hooks.is_absolute():
        hooks = r / hooks
    hooks.mkdir(parents=True, exist_ok=True)
    guard = hooks / "pre-commit"
    guard.write_text("#!/bin/sh\nif git diff --cached | grep -q AKIA; then\n"
                     "  echo 'refused: an AWS key is staged' >&2; exit 1\nfi\n")
    guard.chmod(0o755)
    assert ossa(r, "install").returncode == 0
    wt = task_worktree(r, "leaky", "--secret")
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 1
    assert "2_execute: the commit of the coder's changes was refused" in proc.stdout
    assert "refused: an AWS key is staged" in proc.stdout
    assert git(wt, "rev-list", "--count", "main..HEAD").stdout.strip() == "0"
    assert status(wt)["status"] == "failed"
