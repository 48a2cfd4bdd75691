"""What the benchmark scripts share: a small committed repository to time git in."""

from __future__ import annotations

import subprocess
from pathlib import Path


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
