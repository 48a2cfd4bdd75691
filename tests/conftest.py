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


def imports_beyond_ours(*modules: str) -> list[str]:
    """The modules outside ossa_hooks that importing ``modules`` loads, in a fresh interpreter
    without site (what a hook's start-up pays for them)."""
    code = ("import sys, os, __future__, json; before = set(sys.modules);"
            f" import {', '.join(modules)};"
            " print(json.dumps(sorted(m for m in set(sys.modules) - before"
            " if not m.startswith('ossa_hooks'))))")
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          check=True)
    import json

    return list(json.loads(proc.stdout))


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


# --- the guard rails: three agents in their worktrees -------------------------------------

GUARD_CONFIG = (
    "hooks:\n  pre-commit: [ossa-guard]\n  pre-push: [ossa-guard]\n"
    "  post-checkout: [ossa-guard]\n  pre-rebase: []\n  post-merge: []\n"
    "  reference-transaction: [ossa-guard]\n"
)
AGENTS = ("alpha", "beta", "gamma")
TASK = "t"


def branch_of(agent: str) -> str:
    return f"agents/{agent}/{TASK}"


def wt(repo: Path, agent: str) -> Path:
    return repo / ".worktrees" / f"repo-space__{agent}__{TASK}"


def agent_env(repo: Path, agent: str, *, wrapper: bool = False, **extra: str
              ) -> dict[str, str]:
    """The environment of ``agent``'s process; with ``wrapper``, as the agent runner makes it
    (the guard's ``git`` first on PATH), else git runs bare and only the hooks guard."""
    from ossa_hooks import identity
    from ossa_hooks.git import repo_paths
    from ossa_hooks.worktree.guard_git import agent_environ

    who = identity.Identity(f"{agent}-1", agent_type=agent, task=TASK, branch=branch_of(agent),
                            worktree=str(wt(repo, agent)))
    env = {**os.environ, **who.environ(), **extra}
    if wrapper:
        agent_environ(repo_paths(repo), env)
    return env


def all_refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)").stdout
    return dict(tuple(line.split(" ", 1)) for line in out.splitlines())  # type: ignore[misc]


def heads(repo: Path) -> dict[str, str]:
    """Every worktree's HEAD file, as git wrote it."""
    found = {"main": (repo / ".git" / "HEAD").read_text()}
    admin = repo / ".git" / "worktrees"
    for d in sorted(admin.iterdir()) if admin.is_dir() else []:
        found[d.name] = (d / "HEAD").read_text()
    return found


@pytest.fixture
def guarded(committed_repo: Path, tmp_path: Path) -> Path:
    """A repository with the guard installed, a bare ``origin``, three agent worktrees, and
    a person's uncommitted work in the main worktree."""
    repo = committed_repo
    assert ossa(repo, "install").returncode == 0
    (repo / ".ossa-hooks.yaml").write_text(GUARD_CONFIG)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "guard config")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    # A ref deletion holds packed-refs.lock while the reference-transaction hook runs: agents
    # deleting refs at the same moment on a loaded machine wait longer than git's default
    # second for it (the README's advice for many agents).
    git(repo, "config", "core.packedRefsTimeout", "20000")
    git(repo, "push", "-q", "origin", "main")
    for agent in AGENTS:
        proc = ossa(repo, "worktree", "create", agent, TASK)
        assert proc.returncode == 0, proc.stderr
        git(repo, "push", "-q", "origin", branch_of(agent))
        # One commit the remote does not have yet, so pushes of it have something to send.
        git(wt(repo, agent), "commit", "-q", "--allow-empty", "-m", f"{agent} starts")
    (repo / "README.md").write_text("a person's unsaved edit\n")
    (repo / "notes.txt").write_text("a person's untracked notes\n")
    return repo


def refused(proc: object, rule: str | None) -> None:
    """The command failed; with ``rule``, the guard's one line names it."""
    rc = proc.returncode  # type: ignore[attr-defined]
    err = proc.stderr  # type: ignore[attr-defined]
    assert rc != 0, err
    if rule is not None:
        lines = [line for line in err.splitlines() if line.startswith("ossa-hooks: guard:")]
        assert len(lines) == 1, err
        assert f"[{rule}]" in lines[0] and "; instead: " in lines[0], lines[0]
