"""The check runner's pieces; whole runs through the pre-push hook are in test_judge_gate.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ossa_hooks.git import repo_paths
from ossa_hooks.judge import runner as judge_runner


@pytest.mark.parametrize(("run", "shell"), [
    ("pytest -q", False),
    ("bandit -f custom --msg-template '{relpath}:{line}'", False),
    ("python -c \"print('(x)')\"", False),
    ("ruff check src/*.py", True),
    ("cd sub && pytest", True),
    ("A=1 pytest", True),
    ("echo \"$HOME\"", True),
    ("echo 'it''s'", False),
])
def test_command_argv_uses_a_shell_only_when_needed(run: str, shell: bool) -> None:
    argv, uses_shell = judge_runner.command_argv(run)
    assert uses_shell is shell
    if shell:
        assert argv == ["/bin/sh", "-c", run]


def test_quoted_arguments_reach_the_program_unchanged() -> None:
    argv, _ = judge_runner.command_argv("bandit --msg-template '{relpath}: {msg}' -r .")
    assert argv == ["bandit", "--msg-template", "{relpath}: {msg}", "-r", "."]


def test_first_program_of_a_shell_command() -> None:
    assert judge_runner.first_program("A=1 B=2 ruff check .") == "ruff"
    assert judge_runner.first_program("cd sub && ruff check") is None
    assert judge_runner.first_program("./scripts/lint.sh | tee x") == "./scripts/lint.sh"


def test_missing_note_names_the_tool_and_how_to_install_it() -> None:
    assert judge_runner.missing_note("ruff") == (
        "ruff is not installed (not found on PATH); install it: pip install ruff")
    assert judge_runner.missing_note("/opt/x/bin/mypy").endswith("install it: pip install mypy")
    assert judge_runner.missing_note("flake9").endswith("install it or put it on PATH")


def test_check_env_drops_git_hook_variables_and_puts_the_tree_first(
        committed_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_DIR", str(committed_repo / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", "/elsewhere/index")
    monkeypatch.setenv("PYTHONPATH", "/user/path")
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    env = judge_runner.check_env(repo_paths(committed_repo), tree)
    assert "GIT_DIR" not in env and "GIT_INDEX_FILE" not in env
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tree), str(tree / "src"), "/user/path"]
    assert env["PYTHONPYCACHEPREFIX"].endswith(os.path.join("ossa-hooks", "judge-pycache"))
