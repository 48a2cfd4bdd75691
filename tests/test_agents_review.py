"""``worktree review`` on real task worktrees after a real workflow run (tests/fake_agent.py):
the facts (diff, judge, reviewer, tokens), accept, reject, send back (read by the next execute
round), the question on a real pseudo-terminal, and an agent refused a decision."""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

FAKE = Path(__file__).resolve().with_name("fake_agent.py")
TODAY = time.strftime("%Y%m%d")
CONFIG = """\
hooks:
  post-checkout: []
  post-merge: []
judge:
  checks:
    tests: {enabled: false}
    lint: {enabled: false}
    security: {enabled: false}
    format: {enabled: false}
    nobroken:
      run: test ! -e broken.txt
      timeout: 60
"""


@pytest.fixture
def base(committed_repo: Path) -> Path:
    r = committed_repo
    assert ossa(r, "install").returncode == 0
    (r / ".ossa-hooks.yaml").write_text(CONFIG)
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "config")
    return r


def task_worktree(base: Path, task: str, *, run: bool = True) -> Path:
    made = ossa(base, "worktree", "create", "coder", task)
    assert made.returncode == 0, made.stderr
    wt = base / ".worktrees" / f"repo-space__coder__{task}"
    command = shlex.join([str(FAKE)])
    proc = ossa(wt, "spawn", f"Add a greet() function ({task})", "--provider", "command",
                "--command", command)
    assert proc.returncode == 0, proc.stderr
    if run:
        proc = ossa(wt, "workflow", "run")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return wt


def review_json(cwd: Path, *args: str) -> dict:  # type: ignore[type-arg]
    proc = ossa(cwd, "worktree", "review", "coder", "greet", "--format", "json", *args)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_review_shows_the_facts(base: Path) -> None:
    wt = task_worktree(base, "greet")
    head = git(wt, "rev-parse", "HEAD").stdout.strip()
    doc = review_json(base)
    assert doc["branch"] == "agents/coder/greet" and doc["head"] == head
    assert doc["ahead"] == 1 and doc["behind"] == 0
    assert doc["files"] == [{"path": "hello.py", "added": 4, "deleted": 0}]
    assert doc["judge"]["passed"] is True
    assert [c["name"] for c in doc["judge"]["checks"]] == ["nobroken"]
    review = doc["workflow"]["review"]
    assert review["verdict"] == "approve"
    assert review["findings"] == ["greet() is small and tested"]
    assert doc["workflow"]["status"] == "succeeded"
    assert doc["tokens"]["used"] > 0 and doc["tokens"]["agents"]["coder"]["used"] > 0
    assert "result" not in doc
    # Nothing was decided: the branch and the worktree are as they were.
    assert git(base, "rev-parse", "agents/coder/greet").stdout.strip() == head
    assert wt.is_dir()

    text = ossa(base, "worktree", "review", "coder", "greet")
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert out.startswith("review agents/coder/greet: 1 commit(s) on main@")
    assert "1 file(s), +4/-0" in out
    assert "judge:    passed (nobroken passed) on " + head[:10] in out
    assert "reviewer: approve, 1 finding(s) (workflow 1, round 1; workflow succeeded)" in out
    assert "  - greet() is small and tested" in out
    assert "; cost not reported by the agents" in out
    # Off a terminal: the stat, then the patch, printed (no question asked).
    assert " hello.py | 4 ++++" in out
    assert "+def greet(name):" in out
    assert "accept (merge back)" not in out
    stat_only = ossa(base, "worktree", "review", "coder", "greet", "--stat").stdout
    assert " hello.py | 4 ++++" in stat_only and "+def greet" not in stat_only


def test_new_worktree_has_nothing_to_review(base: Path) -> None:
    assert ossa(base, "worktree", "create", "coder", "greet").returncode == 0
    proc = ossa(base, "worktree", "review", "coder", "greet")
    assert proc.returncode == 0, proc.stderr
    assert "(no commits of its own yet)" in proc.stdout
    assert "judge:    no verdict on this head" in proc.stdout
    assert "reviewer: no workflow has run for this task" in proc.stdout
    assert "tokens:   none recorded" in proc.stdout


def test_unknown_task(base: Path) -> None:
    proc = ossa(base, "worktree", "review", "coder", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("ossa-hooks: no agent worktree or branch agents/coder/nope"
                                   " (see: ossa-hooks worktree list)")


def test_accept_merges_back_as_cleanup_does(base: Path) -> None:
    wt = task_worktree(base, "greet")
    head = git(wt, "rev-parse", "HEAD").stdout.strip()
    proc = ossa(base, "worktree", "review", "coder", "greet", "--accept", "--stat")
    assert proc.returncode == 0, proc.stderr
    assert f"merged agents/coder/greet into main-agents-merge-{TODAY}" in proc.stdout
    assert git(base, "rev-parse", f"main-agents-merge-{TODAY}").stdout.strip() == head
    assert not wt.exists()
    assert git(base, "branch", "--list", "agents/coder/greet").stdout == ""
    trail = ossa(base, "audit", "--name", "review", "-n", "1").stdout
    assert "accept" in trail


def test_reject_parks_the_branch(base: Path) -> None:
    wt = task_worktree(base, "greet")
    head = git(wt, "rev-parse", "HEAD").stdout.strip()
    doc = review_json(base, "--reject")
    ref = doc["result"]["kept"]
    assert ref.startswith("refs/ossa-hooks/keep/agents/coder/greet/")
    assert git(base, "rev-parse", ref).stdout.strip() == head
    assert not wt.exists()
    assert git(base, "branch", "--list", "agents/coder/greet").stdout == ""
    assert git(base, "branch", "--list", f"main-agents-merge-{TODAY}").stdout == ""
    out = "\n".join(doc["result"]["output"])
    assert f"parked agents/coder/greet ({head[:10]}) at {ref}" in out
    assert "kept branch" not in out
    assert f"deleted branch agents/coder/greet (restore it: git branch agents/coder/greet {ref})" \
        in out


def test_send_back_reaches_the_next_execute_round(base: Path) -> None:
    wt = task_worktree(base, "greet")
    proc = ossa(base, "worktree", "review", "coder", "greet", "--stat", "--send-back",
                "Add a docstring to greet(), please")
    assert proc.returncode == 0, proc.stderr
    assert "sent agents/coder/greet back: the next execute round reads the note" in proc.stdout
    doc = review_json(base)
    assert [n["note"] for n in doc["send_back_notes"]] == ["Add a docstring to greet(), please"]
    # The next workflow's execute round gives the note to the coder, then marks it read.
    run = ossa(wt, "workflow", "run")
    assert run.returncode == 0, run.stdout + run.stderr
    prompt = (wt / ".agents-workspace/data/prompt-coder.txt").read_text()
    assert "A person reviewed the work and sent it back" in prompt
    assert "- Add a docstring to greet(), please" in prompt
    assert review_json(base)["send_back_notes"] == []
    done = (wt / ".agents-workspace/data/send-back-done.jsonl").read_text()
    assert "Add a docstring" in done
    # The worktree is still clean: the notes live in the ignored workspace data.
    assert git(wt, "status", "--porcelain").stdout == ""


def test_send_back_needs_a_note(base: Path) -> None:
    task_worktree(base, "greet", run=False)
    proc = ossa(base, "worktree", "review", "coder", "greet", "--send-back", " ")
    assert proc.returncode == 2
    assert "--send-back needs a note" in proc.stderr


def test_an_agent_cannot_decide(base: Path) -> None:
    wt = task_worktree(base, "greet")
    env = {**os.environ, "OSSA_AGENT_ID": "coder-7", "OSSA_AGENT_TYPE": "coder"}
    proc = ossa(base, "worktree", "review", "coder", "greet", "--accept", env=env)
    assert proc.returncode == 1
    assert "agent coder-7 (coder) cannot accept a task: a review decision is a person's" \
        in proc.stderr
    assert wt.is_dir()


def _on_a_terminal(cwd: Path, args: list[str], answers: bytes, env: dict[str, str]
                   ) -> tuple[int, str]:
    """Run ossa-hooks with a pseudo-terminal as stdin, stdout and stderr; type ``answers``."""
    exe = Path(sys.executable).with_name("ossa-hooks")
    main, child = pty.openpty()
    proc = subprocess.Popen([str(exe), *args], cwd=cwd, stdin=child, stdout=child,
                            stderr=child, env=env, close_fds=True)
    os.close(child)
    seen = b""
    typed = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the other end closed: the process is done
                break
            if not chunk:
                break
            seen += chunk
        if not typed and b"[a/r/s/q]" in seen:
            os.write(main, answers)
            typed = True
        if proc.poll() is not None and not ready:
            break
    if proc.poll() is None:  # stuck (a question unanswered): end it, the test fails below
        proc.kill()
    proc.wait()
    os.close(main)
    return proc.returncode, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def test_terminal_asks_and_the_pager_gets_the_patch(base: Path, tmp_path: Path) -> None:
    task_worktree(base, "greet")
    paged = tmp_path / "paged.txt"
    env = {**os.environ, "GIT_PAGER": f"cat > {shlex.quote(str(paged))}", "TERM": "dumb"}
    code, out = _on_a_terminal(base, ["worktree", "review", "coder", "greet"],
                               b"s\nMore tests, please\n", env)
    assert code == 0, out
    assert "reviewer: approve, 1 finding(s)" in out
    assert " hello.py | 4 ++++" in out
    assert "+def greet" in paged.read_text()  # the patch went through git's pager
    assert "note for the next execute round:" in out
    assert "sent agents/coder/greet back" in out
    notes = (base / ".worktrees/repo-space__coder__greet/.agents-workspace/data"
             / "send-back.jsonl").read_text()
    assert json.loads(notes)["note"] == "More tests, please"


def test_terminal_quit_changes_nothing(base: Path, tmp_path: Path) -> None:
    wt = task_worktree(base, "greet")
    env = {**os.environ, "GIT_PAGER": "cat", "TERM": "dumb"}
    code, out = _on_a_terminal(base, ["worktree", "review", "coder", "greet"], b"q\n", env)
    assert code == 0, out
    assert "no decision: the task stays as it is" in out
    assert wt.is_dir()


def test_terminal_accept(base: Path) -> None:
    wt = task_worktree(base, "greet")
    env = {**os.environ, "GIT_PAGER": "cat", "TERM": "dumb"}
    code, out = _on_a_terminal(base, ["worktree", "review", "coder", "greet"], b"a\n", env)
    assert code == 0, out
    assert "merged agents/coder/greet into" in out
    assert not wt.exists()
