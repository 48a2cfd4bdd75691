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


# --- the ids under the real pre-commit, run from this checkout (no environment to build) --------

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
JUDGE_CONFIG = ("judge:\n  cache: false\n  checks:\n    tests:\n      run: test ! -e bad.txt\n"
                "      timeout: 60\n    lint:\n      enabled: false\n    security:\n"
                "      enabled: false\n")


def local_config(repo: Path, ids: tuple[str, ...]) -> None:
    """``.pre-commit-config.yaml`` with this project's manifest entries as ``repo: local``
    (the same stages, pass_filenames, … ; the entry is this checkout's ``ossa-hooks``)."""
    import yaml

    manifest = yaml.safe_load((SOURCE / ".pre-commit-hooks.yaml").read_text())
    exe = Path(sys.executable).with_name("ossa-hooks")
    hooks = []
    for hook in manifest:
        if hook["id"] in ids:
            hooks.append(dict(hook, entry=hook["entry"].replace("ossa-hooks", str(exe), 1),
                              language="system"))
    (repo / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False))


def pre_commit(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"))
    proc = subprocess.run([str(PRE_COMMIT), *args], cwd=repo, capture_output=True, text=True,
                          env=env, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def judge_setup(repo: Path, tmp_path: Path) -> Path:
    local_config(repo, ("ossa-judge",))
    (repo / ".ossa-hooks.yaml").write_text(JUDGE_CONFIG)
    git(repo, "add", ".pre-commit-config.yaml", ".ossa-hooks.yaml")
    git(repo, "commit", "-q", "-m", "config")
    pre_commit(repo, "install", "--hook-type", "pre-push")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    return remote


def judged(repo: Path) -> list[list[str]]:
    events = json.loads(ossa(repo, "audit", "--format", "json", "-n", "0").stdout)
    return [e["detail"]["refs"] for e in events
            if e["kind"] == "hook" and e["name"] == "ossa-judge"]


def branch_with(repo: Path, name: str, file: str) -> None:
    git(repo, "checkout", "-q", "-b", name, "main")
    (repo / file).write_text("x\n")
    git(repo, "add", file)
    git(repo, "commit", "-q", "-m", file)
    git(repo, "checkout", "-q", "main")


def test_first_push_with_the_root_commit_is_judged(committed_repo: Path, tmp_path: Path) -> None:
    repo = committed_repo
    judge_setup(repo, tmp_path)
    (repo / "bad.txt").write_text("x\n")
    git(repo, "add", "bad.txt")
    git(repo, "commit", "-q", "-m", "bad")
    proc = git(repo, "push", "origin", "main", check=False)
    assert proc.returncode != 0, proc.stderr  # pre-commit passed no refs: Passed, before
    assert "ossa-judge: refs decided from git (pre-commit passes at most one):" \
        " refs/heads/main" in proc.stdout + proc.stderr
    assert judged(repo) == [["refs/heads/main"]]


def test_every_pushed_ref_is_judged(committed_repo: Path, tmp_path: Path) -> None:
    repo = committed_repo
    judge_setup(repo, tmp_path)
    git(repo, "push", "-q", "origin", "main")
    branch_with(repo, "good", "good.txt")
    branch_with(repo, "bad", "bad.txt")
    proc = git(repo, "push", "origin", "good", "bad", check=False)
    assert proc.returncode != 0  # pre-commit exposes only `good`
    assert sorted(judged(repo)[-1]) == ["refs/heads/bad", "refs/heads/good"]
    proc = git(repo, "push", "origin", "good", check=False)  # `bad` is judged again: fails
    assert proc.returncode != 0


def test_run_of_the_pre_push_stage_without_refs_judges_something(committed_repo: Path,
                                                                 tmp_path: Path) -> None:
    repo = committed_repo
    judge_setup(repo, tmp_path)
    git(repo, "push", "-q", "origin", "main")
    proc = pre_commit(repo, "run", "--verbose", "--hook-stage", "pre-push", "ossa-judge")
    assert "refs decided from git (pre-commit passes at most one): HEAD" in proc.stdout
    branch_with(repo, "bad", "bad.txt")
    proc = pre_commit(repo, "run", "--hook-stage", "pre-push", "ossa-judge", check=False)
    assert proc.returncode == 1
    assert judged(repo)[-1] == ["refs/heads/bad"]


def test_run_all_files_checks_every_tracked_file(committed_repo: Path) -> None:
    import secrets
    import string

    repo = committed_repo
    local_config(repo, ("ossa-secrets", "ossa-gitignore"))
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "config")
    pre_commit(repo, "install")
    tok = "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits)
                           for _ in range(36))
    (repo / "settings.py").write_text(f'TOKEN = "{tok}"\n')
    (repo / ".env").write_text("PASSWORD=x\n")
    git(repo, "add", "-f", "settings.py", ".env")
    git(repo, "commit", "-q", "--no-verify", "-m", "committed past the hooks")
    # A commit checks its own change: the committed secret is not the commit's business.
    (repo / "other.txt").write_text("fine\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "other")
    proc = pre_commit(repo, "run", "--all-files", check=False)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "settings.py:1: GitHub Token" in out
    assert "of the files pre-commit passed scanned" in out
    assert ".env" in out and "tracked path must never be committed" in out


def test_snapshot_under_pre_commit_holds_the_stashed_unstaged_changes(committed_repo: Path
                                                                      ) -> None:
    repo = committed_repo
    local_config(repo, ("ossa-backup",))
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "config")
    pre_commit(repo, "install", "--hook-type", "post-checkout")
    (repo / "README.md").write_text("hello\nunstaged edit\n")
    proc = git(repo, "checkout", "-b", "topic")
    assert "Unstaged files detected" in proc.stdout + proc.stderr  # pre-commit stashed them
    branches = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/backup/")
    names = branches.stdout.split()
    assert len(names) == 1, proc.stdout + proc.stderr
    saved = git(repo, "show", f"{names[0]}:README.md").stdout
    assert saved == "hello\nunstaged edit\n"
    assert (repo / "README.md").read_text() == "hello\nunstaged edit\n"


def test_the_readmes_example_names_a_commit_of_this_repository() -> None:
    import re

    import yaml

    if not (SOURCE / ".git").exists():
        pytest.skip("needs the ossa-hooks source checkout")
    readme = (SOURCE / "README.md").read_text()
    rev = re.search(r"^    rev: (\S+)", readme, re.MULTILINE)
    assert rev is not None
    assert git(SOURCE, "cat-file", "-e", f"{rev.group(1)}^{{commit}}", check=False).returncode == 0
    manifest = yaml.safe_load((SOURCE / ".pre-commit-hooks.yaml").read_text())
    assert {h["minimum_pre_commit_version"] for h in manifest} == {"3.2.0"}
    for hook in manifest:
        assert f"- id: {hook['id']}" in readme
