"""The real pre-commit framework (from PyPI) runs each ossa-hooks id from git's hooks.

pre-commit clones this project at a commit and builds its own virtualenv for it with pip, so
this test needs the package registry (pip's cache makes reruns quick).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

SOURCE = Path(__file__).resolve().parent.parent
# The pip cache of the user running the tests (the fixtures give each test its own HOME).
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or os.path.join(
    os.path.expanduser("~"), ".cache", "pip"
)
IDS = ("ossa-backup", "ossa-secrets", "ossa-gitignore", "ossa-judge", "ossa-cleanup",
       "ossa-budget")
HOOK_TYPES = ("pre-commit", "post-checkout", "pre-push", "post-merge", "pre-rebase")


def snapshot_of_this_project(dest: Path) -> str:
    """A git repository holding this project's files as they are now; returns its commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=SOURCE, capture_output=True, check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = SOURCE / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "ossa-hooks under test")
    return git(dest, "rev-parse", "HEAD").stdout.strip()


@pytest.mark.slow
def test_each_id_is_invoked_by_git(committed_repo: Path, tmp_path: Path) -> None:
    if not (SOURCE / ".pre-commit-hooks.yaml").exists() or not (SOURCE / ".git").exists():
        pytest.skip("needs the ossa-hooks source checkout")
    hook_repo = tmp_path / "ossa-hooks-src"
    hook_repo.mkdir()
    rev = snapshot_of_this_project(hook_repo)
    repo = committed_repo
    hooks = "\n".join(f"      - id: {i}" for i in IDS)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n{hooks}\n"
    )
    # The judge's default checks are the judge issue's business; keep this test about wiring.
    (repo / ".ossa-hooks.yaml").write_text(
        "judge:\n  checks:\n"
        + "".join(f"    {c}:\n      enabled: false\n" for c in ("tests", "lint", "security"))
    )
    (repo / ".gitignore").write_text(".env\n.env.*\n!.env.example\n.worktrees/\n"
                                     ".agents-workspace/logs/\n.agents-workspace/metrics/\n")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               PIP_CACHE_DIR=PIP_CACHE)
    pre_commit = Path(sys.executable).with_name("pre-commit")
    flags = [arg for t in HOOK_TYPES for arg in ("--hook-type", t)]
    subprocess.run([str(pre_commit), "install", *flags], cwd=repo, env=env, check=True,
                   capture_output=True)
    proc = subprocess.run([str(pre_commit), "install-hooks"], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "add", "-A", env=env)
    commit = git(repo, "commit", "-m", "configure", env=env)
    assert "ossa-hooks secrets" in commit.stdout + commit.stderr
    git(repo, "checkout", "-q", "-b", "topic", env=env)  # post-checkout
    (repo / "topic.txt").write_text("topic\n")
    git(repo, "add", "topic.txt", env=env)
    git(repo, "commit", "-q", "-m", "topic", env=env)
    git(repo, "push", "-q", "origin", "topic", env=env)  # pre-push
    git(repo, "checkout", "-q", "main", env=env)
    (repo / "main.txt").write_text("main\n")
    git(repo, "add", "main.txt", env=env)
    git(repo, "commit", "-q", "-m", "main", env=env)
    git(repo, "merge", "-q", "--no-edit", "topic", env=env)  # post-merge
    git(repo, "rebase", "-q", "main", "topic", env=env)  # pre-rebase

    events = json.loads(ossa(repo, "audit", "--format", "json", "-n", "0").stdout)
    seen = {(e["name"], e["detail"].get("hook_type")) for e in events
            if e["kind"] == "hook" and e["detail"].get("via") == "pre-commit"}
    assert seen >= {
        ("ossa-secrets", "pre-commit"),
        ("ossa-gitignore", "pre-commit"),
        ("ossa-backup", "post-checkout"),
        ("ossa-judge", "pre-push"),
        ("ossa-cleanup", "post-merge"),
        ("ossa-budget", "post-merge"),
        ("ossa-backup", "pre-rebase"),
    }
    failed = [e for e in events if e["kind"] == "hook" and e["outcome"] != "ok"]
    assert failed == []
