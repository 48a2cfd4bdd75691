"""Fixtures that make real git repositories in temporary folders."""

from __future__ import annotations

import hashlib
import os
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ALNUM = string.ascii_letters + string.digits

# Paths with a space and non-ASCII, as users have them.
ODD_NAME = "repo ø space"


def git(cwd: Path | str, *args: str, check: bool = True, input: bytes | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run git in ``cwd`` like a user would (the test's environment, text output)."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=check, capture_output=True,
        text=input is None, input=input, env=env,
    )


def commit_files(repo: Path, files: dict[str, str]) -> None:
    """Write ``files`` (path: text) into ``repo`` and commit them all."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")


def ossa(cwd: Path | str, *args: str, env: dict[str, str] | None = None,
         input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ossa-hooks`` console script as a user would."""
    exe = Path(sys.executable).with_name("ossa-hooks")
    return subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, env=env, input=input,
        check=False,
    )


def rnd(n: int, seed: str) -> str:
    """``n`` letters and digits, the same for the same seed: fake secrets that look random."""
    out: list[str] = []
    i = 0
    while len(out) < n:
        out.extend(ALNUM[b % 62] for b in hashlib.sha256(f"{seed}:{i}".encode()).digest())
        i += 1
    return "".join(out[:n])


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config, a fixed identity, no inherited GIT_* or OSSA_* variables
    (a test runs as a person unless it gives itself an agent identity)."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        "[protocol \"file\"]\n\tallow = always\n"
    )
    for key in list(os.environ):
        if key.startswith(("GIT_", "OSSA_")) or key in ("SKIP", "PRE_COMMIT"):
            monkeypatch.delenv(key)
    # An activated virtualenv (CI's .ci/run activates one) would be "the active virtualenv"
    # to the judge: tests that want one set it themselves.
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Repository-supplied commands (judge checks...) are approved: tests of ossa_hooks.trust
    # remove this to see the question.
    monkeypatch.setenv("OSSA_HOOKS_TRUST_ALL", "1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository (no commits) in a folder whose name has a space and non-ASCII."""
    path = tmp_path / ODD_NAME
    path.mkdir()
    git(path, "init", "-q")
    return path


@pytest.fixture
def committed_repo(repo: Path) -> Path:
    """A repository with one commit on ``main``."""
    (repo / "README.md").write_text("hello\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture
def in_repo(committed_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``committed_repo`` as the current folder (for in-process ``main([...])`` calls)."""
    monkeypatch.chdir(committed_repo)
    yield committed_repo
