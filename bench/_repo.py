"""What the benchmark scripts share: their environment, and a small committed repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ossa_hooks

IDENTITY = "[user]\n\tname = Bench\n\temail = bench@example.com\n"


def bench_env(root: Path, extra_config: str = "") -> dict[str, str]:
    """The environment a benchmark runs git and the hooks in, as on a user's machine.

    The caller's variables without GIT_* ones; bytecode caches written and used (pip compiles
    them at install time; PYTHONDONTWRITEBYTECODE would make every hook compile its modules),
    and compiled now; a git config of its own, ``root/gitconfig`` (identity + ``extra_config``).
    """
    gitconfig = root / "gitconfig"
    gitconfig.write_text(IDENTITY + extra_config)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") and k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(Path(ossa_hooks.__file__).parent)], check=False, env=env)
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1")
    return env


def sh(cwd: Path, *args: str, env: dict[str, str]) -> str:
    """Run a program in ``cwd``; its standard output (an error when it fails)."""
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def make_repo(root: Path, name: str, env: dict[str, str]) -> Path:
    """``root/name``: a repository with one commit (made without hooks)."""
    path = root / name
    path.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)

    git("init", "-q")
    (path / "README.md").write_text("bench\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "initial", "--no-verify")
    return path
