"""Who is acting (ossa_hooks.identity): an agent process carries its identity in its
environment, through git, into git's hooks; a person's shell carries none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import git
from conftest import imports_beyond_ours

from ossa_hooks import identity


def test_a_person_has_no_identity() -> None:
    assert identity.current({}) is None
    assert identity.current({"OSSA_AGENT_ID": "  ", "OSSA_BRANCH": "agents/coder/x"}) is None
    assert identity.actor({}) == "a person"


def test_the_variables_round_trip() -> None:
    who = identity.Identity("coder-3", name="coder", agent_type="coder", task="greet",
                            branch="agents/coder/greet", worktree="/w/x", workflow_id="2")
    env = who.environ()
    assert set(env) == set(identity.VARIABLES)
    back = identity.current(env)
    assert back == who and hash(back) == hash(who)
    assert identity.actor(env) == "agent coder-3 (coder, task greet)"


def test_the_identity_reaches_a_hook_through_git(committed_repo: Path) -> None:
    """What a hook sees: the agent's variables survive git (which passes its environment on)."""
    hook = committed_repo / ".git" / "hooks" / "pre-commit"
    probe = committed_repo.parent / "seen.txt"
    hook.write_text(
        f"#!/bin/sh\n{sys.executable} -c 'from ossa_hooks import identity; "
        f"print(identity.actor())' > '{probe}'\n")
    hook.chmod(0o755)
    env = {**os.environ, **identity.Identity("reviewer-7", agent_type="reviewer",
                                             task="t1").environ()}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=committed_repo,
                   env=env, check=True)
    assert probe.read_text().strip() == "agent reviewer-7 (reviewer, task t1)"
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "y",
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert probe.read_text().strip() == "a person"


def test_importing_it_costs_only_os() -> None:
    assert imports_beyond_ours("ossa_hooks.identity") == []
