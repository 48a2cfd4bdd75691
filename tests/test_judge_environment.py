"""The project's environment: which interpreter and tools the judge's checks run with."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit_files
from conftest import ossa

from ossa_hooks.git import repo_paths
from ossa_hooks.judge.environment import project_environment

OWN_VENV = str(Path(sys.executable).parent.parent)
OFF = {name: {"enabled": False} for name in ("tests", "lint", "format", "security")}
PRINT_PREFIX = "import sys, json; print(json.dumps([sys.prefix, sys.executable]))"


def make_venv(path: Path) -> Path:
    """A real virtualenv (no pip: fast) whose interpreter is this one's base."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def configure(repo: Path, checks: dict[str, dict[str, object]]) -> None:
    data = {"judge": {"checks": {**OFF, **checks}}}
    commit_files(repo, {".ossa-hooks.yaml": json.dumps(data)})


def test_a_venv_in_the_repository_runs_the_checks(committed_repo: Path) -> None:
    venv = make_venv(committed_repo / ".venv")
    (committed_repo / ".gitignore").write_text(".venv/\n")
    configure(committed_repo, {"where": {"run": f"python -c {shlex.quote(PRINT_PREFIX)}"},
                               "tests": {"enabled": True}})
    res = ossa(committed_repo, "judge", "--keep-going", env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert f"environment: .venv in the repository ({venv}); python {venv}/bin/python" \
        in res.stdout
    log = next((committed_repo / ".git" / "ossa-hooks" / "judge-logs").glob("*-where.log"))
    prefix, _ = json.loads(log.read_text().splitlines()[-1])
    assert os.path.realpath(prefix) == os.path.realpath(venv)
    # the project's interpreter has no pytest: the tests check says so, and never falls back
    # to the pytest installed beside ossa-hooks
    assert res.returncode == 1
    assert (f"tests: pytest is not installed for {venv}/bin/python (the project's "
            f"interpreter); install it: {venv}/bin/python -m pip install pytest") in res.stdout


def test_the_active_virtualenv_comes_first(committed_repo: Path, tmp_path: Path) -> None:
    other = make_venv(tmp_path / "active")
    make_venv(committed_repo / ".venv")
    env = project_environment(repo_paths(committed_repo),
                              {"VIRTUAL_ENV": str(other), "PATH": "/usr/bin:/bin"})
    assert env.root == str(other) and env.source == "active virtualenv (VIRTUAL_ENV)"
    assert env.path.split(os.pathsep)[0] == str(other / "bin")
    assert env.which("python") == str(other / "bin" / "python")


def test_never_the_pre_commit_frameworks_environment(committed_repo: Path) -> None:
    """Under pre-commit, VIRTUAL_ENV and PATH name its isolated environment (here: the one
    ossa-hooks runs from): the project's .venv is used, pre-commit's bin leaves PATH, and only
    ruff and bandit may still come from beside ossa-hooks."""
    venv = make_venv(committed_repo / ".venv")
    environ = {"PRE_COMMIT": "1", "VIRTUAL_ENV": OWN_VENV,
               "PATH": f"{OWN_VENV}/bin{os.pathsep}/usr/bin{os.pathsep}/bin"}
    env = project_environment(repo_paths(committed_repo), environ)
    assert env.root == str(venv)
    dirs = env.path.split(os.pathsep)
    assert f"{OWN_VENV}/bin" not in dirs
    assert dirs[0] == str(venv / "bin")
    assert env.which("pytest") in (None, "/usr/bin/pytest")  # never pre-commit's
    assert env.which("ruff") == str(Path(dirs[-1]) / "ruff")  # the fallback folder
    assert os.path.realpath(str(env.which("ruff"))) == os.path.realpath(f"{OWN_VENV}/bin/ruff")

    # no project environment at all: PATH, not the framework's environment
    (committed_repo / ".venv").rename(committed_repo / "elsewhere")
    env = project_environment(repo_paths(committed_repo), environ)
    assert env.root is None and env.source == "PATH (no virtualenv found)"
    assert env.python is None or not env.python.startswith(OWN_VENV)


def test_poetry_is_asked_for_its_environment(committed_repo: Path, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "poetry-env")
    tools = tmp_path / "tools"
    tools.mkdir()
    poetry = tools / "poetry"
    poetry.write_text(f"#!/bin/sh\n[ \"$*\" = 'env info --path' ] && echo {venv}\n")
    poetry.chmod(0o755)
    (committed_repo / "poetry.lock").write_text("")
    env = project_environment(repo_paths(committed_repo),
                              {"PATH": f"{tools}{os.pathsep}/usr/bin:/bin"})
    assert env.root == str(venv) and env.source == "poetry (poetry env info --path)"


def test_doctor_checks_that_every_check_tool_resolves(committed_repo: Path) -> None:
    configure(committed_repo, {"odd": {"run": "flake9 ."}, "lint": {"enabled": True},
                               "ruff": {"run": "ruff check ."}})
    res = ossa(committed_repo, "doctor")
    assert res.returncode == 1
    out = res.stdout
    assert (f"problem {committed_repo}: judge.checks.odd: flake9 is not installed (not found on "
            "PATH); install it or put it on PATH") in out
    assert f"ok      {committed_repo}: judge.checks.lint: ossa-hooks (built in)" in out
    assert f"ok      {committed_repo}: judge.checks.ruff: ruff -> " in out
    assert f"ok      {committed_repo}: judge: environment: " in out


@pytest.mark.parametrize("name", ["venv", ".venv"])
def test_venv_folder_names(committed_repo: Path, name: str) -> None:
    venv = make_venv(committed_repo / name)
    env = project_environment(repo_paths(committed_repo), {"PATH": "/usr/bin:/bin"})
    assert env.root == str(venv) and env.source == f"{name} in the repository"
