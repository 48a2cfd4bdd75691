"""Rules an agent cannot rewrite: an agent branch is judged with its base's configuration,
review marks, and the merge gate of ``worktree cleanup``."""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.git import repo_paths
from ossa_hooks.judge.trusted import review_reasons
from ossa_hooks.judge.trusted import workflow_review

PY = shlex.quote(sys.executable)
STATE_OK = f"{PY} -c \"import sys; sys.exit(open('state.txt').read() != 'ok\\\\n')\""
OFF = {name: {"enabled": False} for name in ("tests", "lint", "format", "security")}
BRANCH = "agents/coder/t1"


def config_text(run: str) -> str:
    hooks = {h: [] for h in ("pre-commit", "pre-push", "post-checkout", "pre-rebase",
                             "post-merge")}
    return json.dumps({"hooks": hooks, "judge": {"checks": {**OFF, "state": {"run": run}}}})


def commit(cwd: Path, files: dict[str, str], message: str = "work") -> str:
    for name, text in files.items():
        (cwd / name).parent.mkdir(parents=True, exist_ok=True)
        (cwd / name).write_text(text)
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def agent(committed_repo: Path) -> Path:
    """main with a state check committed, and the coder's worktree for task t1."""
    commit(committed_repo, {".ossa-hooks.yaml": config_text(STATE_OK), "state.txt": "ok\n"})
    res = ossa(committed_repo, "worktree", "create", "coder", "t1")
    assert res.returncode == 0, res.stderr
    return next((committed_repo / ".worktrees").iterdir())


def test_an_agent_that_rewrites_the_check_is_judged_with_the_bases_configuration(
        committed_repo: Path, agent: Path) -> None:
    commit(agent, {".ossa-hooks.yaml": config_text("true"), "state.txt": "broken\n"})
    res = ossa(agent, "judge")
    assert res.returncode == 1, res.stdout
    assert f"configuration from main:.ossa-hooks.yaml (the base of {BRANCH})" in res.stdout
    assert "state  failed" in res.stdout
    assert ("needs human review: changes .ossa-hooks.yaml (judged with the base's "
            "configuration)") in res.stdout
    # and `worktree list` does not show it as passed, nor does cleanup merge it
    [row] = json.loads(ossa(committed_repo, "worktree", "list", "--format", "json").stdout)
    assert row["verdict"] == "failed"
    res = ossa(committed_repo, "worktree", "cleanup", "coder", "t1")
    assert res.returncode == 1
    assert f"not merging {BRANCH}: the judge failed on" in res.stderr
    assert "with the trusted configuration from main:.ossa-hooks.yaml" in res.stderr
    assert git(committed_repo, "rev-parse", "-q", "--verify", f"main-agents-merge-"
               f"{time.strftime('%Y%m%d')}", check=False).returncode != 0  # nothing merged
    assert agent.exists()


def test_a_passing_branch_that_changes_the_rules_needs_accept_config_change(
        committed_repo: Path, agent: Path) -> None:
    commit(agent, {".ossa-hooks.yaml": config_text("true"), "feature.txt": "new\n"})
    res = ossa(committed_repo, "worktree", "cleanup", "coder", "t1")
    assert res.returncode == 1
    assert "needs human review: changes .ossa-hooks.yaml" in res.stderr
    assert "(merge anyway: --accept-config-change)" in res.stderr
    res = ossa(committed_repo, "worktree", "cleanup", "coder", "t1", "--accept-config-change")
    assert res.returncode == 0, res.stderr
    assert "accepted for review: changes .ossa-hooks.yaml" in res.stdout
    assert f"merged {BRANCH} into main-agents-merge-" in res.stdout


def test_a_clean_passing_branch_merges_and_no_gate_says_what_it_skipped(
        committed_repo: Path, agent: Path) -> None:
    commit(agent, {"feature.txt": "new\n"})
    res = ossa(committed_repo, "worktree", "cleanup", "coder", "t1")
    assert res.returncode == 0, res.stderr
    assert "state  passed" in res.stdout and f"merged {BRANCH} into" in res.stdout

    res = ossa(committed_repo, "worktree", "create", "coder", "t2")
    assert res.returncode == 0, res.stderr
    t2 = next(p for p in (committed_repo / ".worktrees").iterdir() if p.name.endswith("t2"))
    commit(t2, {"state.txt": "broken\n"})
    res = ossa(committed_repo, "worktree", "cleanup", "coder", "t2", "--no-gate")
    assert res.returncode == 0, res.stderr
    assert ("--no-gate: merging agents/coder/t2 without the judge under the trusted "
            "configuration, the review marks or the workflow's review") in res.stdout


def test_review_marks(committed_repo: Path) -> None:
    commit(committed_repo, {"pkg/a.py": "x = 1\n", "tests/test_a.py": "def test_a():\n    pass\n",
                            "tests/test_b.py": "def test_b():\n    pass\n"})
    base = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    git(committed_repo, "checkout", "-q", "-b", BRANCH)
    (committed_repo / "tests" / "test_b.py").unlink()
    head = commit(committed_repo, {
        "pkg/a.py": "import os  # noqa: F401\nx = eval('1')  # nosec\n",
        "tests/test_a.py": "import pytest\n\n\n@pytest.mark.skip\ndef test_a():\n    pass\n",
        "ruff.toml": "ignore = ['F']\n",
    })
    assert review_reasons(repo_paths(committed_repo), base, head) == [
        "changes tool configuration: ruff.toml",
        "deletes tests: tests/test_b.py",
        "adds # noqa: pkg/a.py:1",
        "adds # nosec: pkg/a.py:2",
        "skips tests: tests/test_a.py:4",
    ]
    assert review_reasons(repo_paths(committed_repo), head, head) == []


def test_the_workflow_review_is_read_from_the_workflow_state(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    assert workflow_review(repo, BRANCH) is None  # no workflow ever ran
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(repo.state_dir / "workflow.db")
    con.executescript(
        "CREATE TABLE workflows (id INTEGER PRIMARY KEY, branch TEXT);"
        "CREATE TABLE phases (workflow INTEGER, name TEXT, round INTEGER, result TEXT);"
        f"INSERT INTO workflows VALUES (1, '{BRANCH}');")
    con.commit()
    assert workflow_review(repo, BRANCH) == "none"  # escalated before the review ran
    con.execute("INSERT INTO phases VALUES (1, '3_review', 1, ?)",
                (json.dumps({"verdict": "request changes"}),))
    con.execute("INSERT INTO phases VALUES (1, '3_review', 2, ?)",
                (json.dumps({"verdict": "approve"}),))
    con.commit()
    con.close()
    assert workflow_review(repo, BRANCH) == "approve"
