"""The goal on a real project: click 8.1.8 from its PyPI sdist, with its own test suite in its
own `.venv`. `ossa-hooks install` with no configuration lets a clean push through and refuses
each planted fault: a failing test, an unused import, `subprocess.run(user_input, shell=True)`.

Slow (it installs click's test requirements from PyPI and runs its suite five times)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

CLICK = "click==8.1.8"


@pytest.fixture(scope="module")
def click_sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sdist")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                    ":all:", "-d", str(folder), CLICK], check=True)
    return next(folder.glob("click-*.tar.gz"))


@pytest.fixture
def click(click_sdist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone of click whose remote has its history, its test requirements in .venv, and
    ossa-hooks installed with no configuration (committed as a user would)."""
    monkeypatch.delenv("OSSA_HOOKS_TRUST_ALL")  # nothing to approve: only the defaults run
    with tarfile.open(click_sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    repo = next(tmp_path.glob("click-*"))
    (repo / ".gitignore").write_text(".venv/\n__pycache__/\n.pytest_cache/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "click")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(repo, "push", "-q", "origin", "main")  # the remote has click's history
    git(repo, "fetch", "-q", "origin")
    git(repo, "remote", "set-head", "origin", "main")
    subprocess.run([sys.executable, "-m", "venv", str(repo / ".venv")], check=True)
    subprocess.run([str(repo / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q",
                    "-r", "requirements/tests.txt", "-e", "."], cwd=repo, check=True)
    assert ossa(repo, "install").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ossa-hooks install")
    return repo


def push(repo: Path, branch: str) -> subprocess.CompletedProcess[str]:
    # the virtualenv is not on PATH, as in a GUI git client
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    return git(repo, "push", "origin", branch, check=False, env=env)


def plant(repo: Path, branch: str, path: str, old: str | None, new: str) -> None:
    git(repo, "checkout", "-q", "-b", branch, "main")
    file = repo / path
    text = file.read_text()
    file.write_text(text.replace(old, new, 1) if old is not None else text + new)
    git(repo, "commit", "-q", "-am", f"plant {branch}")


@pytest.mark.slow
def test_click_clean_push_passes_and_each_planted_fault_is_refused(click: Path) -> None:
    res = push(click, "main")
    assert res.returncode == 0, res.stderr
    assert f"environment: .venv in the repository ({click / '.venv'})" in res.stderr
    assert "passed (4 checks" in res.stderr

    plant(click, "fault-test", "tests/test_basic.py", "Hello World!", "Hello Moon!")
    res = push(click, "fault-test")
    assert res.returncode == 1
    assert "FAILED tests/test_basic.py::test_basic_functionality" in res.stderr
    assert "FAILED: tests" in res.stderr

    plant(click, "fault-import", "src/click/formatting.py", "import typing as t\n",
          "import fractions\nimport typing as t\n")
    res = push(click, "fault-import")
    assert res.returncode == 1
    assert "F401" in res.stderr and "FAILED: lint" in res.stderr

    plant(click, "fault-shell", "src/click/utils.py", None,
          "\n\ndef run_it(user_input: str) -> None:\n    import subprocess\n\n"
          "    subprocess.run(user_input, shell=True)\n")
    res = push(click, "fault-shell")
    assert res.returncode == 1
    assert "src/click/utils.py:" in res.stderr and ": B602 [HIGH/HIGH]" in res.stderr
    assert "FAILED: security" in res.stderr
    # click's own shell=True (its pager and editor) is there before the push: not counted
    assert "(unchanged since" in res.stderr
