"""``worktree pr`` with a stand-in ``gh`` on PATH (it checks what it receives) and a bare local
remote: pushed after the secret scan, the pull request's title and body, and the clear refusals
(no gh, not logged in, a secret, no remote)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

FAKE_AGENT = Path(__file__).resolve().with_name("fake_agent.py")
CONFIG = """\
hooks:
  pre-commit: []
  pre-push: []
  post-checkout: []
  post-merge: []
judge:
  checks:
    tests: {enabled: false}
    lint: {enabled: false}
    security: {enabled: false}
    nobroken:
      run: test ! -e broken.txt
"""

# A stand-in for GitHub's CLI: `auth status` as FAKE_GH_AUTH says; `pr create` checks its
# arguments like gh would (unknown flags, a missing --head/--base/--title/--body-file, an
# unreadable body are errors), records them and the body, and prints a pull request URL.
FAKE_GH = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
log = os.environ["FAKE_GH_LOG"]
if args[:2] == ["auth", "status"]:
    if os.environ.get("FAKE_GH_AUTH") == "out":
        print("You are not logged into any GitHub hosts. To log in, run: gh auth login",
              file=sys.stderr)
        sys.exit(1)
    print("github.com\\n  Logged in to github.com account ann (keyring)")
    sys.exit(0)
if args[:2] != ["pr", "create"]:
    print(f"unknown command {{args}}", file=sys.stderr)
    sys.exit(2)
opts, i, flags = {{}}, 2, {{"--draft"}}
while i < len(args):
    if args[i] in flags:
        opts[args[i]] = True
        i += 1
    elif args[i] in ("--head", "--base", "--title", "--body-file") and i + 1 < len(args):
        opts[args[i]] = args[i + 1]
        i += 2
    else:
        print(f"unknown flag: {{args[i]}}", file=sys.stderr)
        sys.exit(1)
for need in ("--head", "--base", "--title", "--body-file"):
    if not opts.get(need):
        print(f"missing {{need}}", file=sys.stderr)
        sys.exit(1)
with open(opts["--body-file"], encoding="utf-8") as f:
    opts["body"] = f.read()
opts["cwd"] = os.getcwd()
with open(log, "a", encoding="utf-8") as f:
    f.write(json.dumps(opts) + "\\n")
print("https://github.com/ann/shop/pull/7")
"""


@pytest.fixture
def setup(committed_repo: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A repository with a bare remote `origin` (main pushed), a task worktree after a real
    workflow run, and an environment whose PATH has the stand-in gh."""
    r = committed_repo
    (r / ".ossa-hooks.yaml").write_text(CONFIG)
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "config")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(r, "remote", "add", "origin", str(remote))
    git(r, "push", "-q", "origin", "main")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "FAKE_GH_LOG": str(tmp_path / "gh.log")}
    assert ossa(r, "worktree", "create", "coder", "greet").returncode == 0
    wt = r / ".worktrees" / "repo-space__coder__greet"
    proc = ossa(wt, "spawn", "Add a greet() function", "--provider", "command", "--command",
                shlex.join([str(FAKE_AGENT)]))
    assert proc.returncode == 0, proc.stderr
    proc = ossa(wt, "workflow", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return r, remote, env


def gh_calls(env: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    path = Path(env["FAKE_GH_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def remote_rev(remote: Path, ref: str) -> str | None:
    proc = git(remote, "rev-parse", "-q", "--verify", ref, check=False)
    return proc.stdout.strip() or None


def test_push_and_open_the_pull_request(setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, remote, env = setup
    head = git(repo, "rev-parse", "agents/coder/greet").stdout.strip()
    proc = ossa(repo, "worktree", "pr", "coder", "greet", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "secret scan: 1 commit(s) origin lacks, clean",
        f"pushed agents/coder/greet ({head[:10]}) to origin",
        "opened pull request: https://github.com/ann/shop/pull/7",
    ]
    assert remote_rev(remote, "refs/heads/agents/coder/greet") == head
    [call] = gh_calls(env)
    assert (call["--head"], call["--base"], call["--title"]) == (
        "agents/coder/greet", "main", "Add a greet() function")
    assert "--draft" not in call
    body = call["body"]
    assert body.startswith("Task `greet` by agent `coder`: Add a greet() function")
    # The compliance report: phases, criteria and tokens; then the verdicts on the head.
    assert "# Compliance report: workflow 1" in body
    assert "| 2_execute | 1 | passed | coder |" in body
    assert "- [x] review_approved: last verdict: approve" in body
    assert f"- judge: passed on `{head[:10]}`" in body
    assert "- reviewer: approve (round 1, 1 finding(s))" in body
    assert "- tokens: " in body and "cost: not reported" in body
    trail = ossa(repo, "audit", "--name", "pr", "-n", "1").stdout
    assert "worktree pr" in trail


def test_json_and_draft(setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, _, env = setup
    proc = ossa(repo, "worktree", "pr", "coder", "greet", "--draft", "--base", "main",
                "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["url"] == "https://github.com/ann/shop/pull/7"
    assert doc["commits_scanned"] == 1 and doc["remote"] == "origin"
    assert gh_calls(env)[0]["--draft"] is True


def _path_without_gh(tmp_path: Path) -> str:
    """PATH with git and the shell tools but no gh."""
    keep = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not (Path(d) / "gh").exists()]
    return os.pathsep.join(keep)


def test_gh_missing(setup: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    repo, remote, env = setup
    env = {**env, "PATH": _path_without_gh(tmp_path)}
    proc = ossa(repo, "worktree", "pr", "coder", "greet", env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "ossa-hooks: gh (GitHub CLI) is not installed: install it (https://cli.github.com, or"
        " `apt-get install gh`), then `gh auth login`")
    assert remote_rev(remote, "refs/heads/agents/coder/greet") is None


def test_gh_not_logged_in(setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, remote, env = setup
    proc = ossa(repo, "worktree", "pr", "coder", "greet", env={**env, "FAKE_GH_AUTH": "out"})
    assert proc.returncode == 2
    assert "gh is not logged in (You are not logged into any GitHub hosts." in proc.stderr
    assert "run `gh auth login`, then this again" in proc.stderr
    assert remote_rev(remote, "refs/heads/agents/coder/greet") is None
    assert gh_calls(env) == []


def test_a_secret_stops_the_push(setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, remote, env = setup
    wt = repo / ".worktrees" / "repo-space__coder__greet"
    (wt / "config.py").write_text('AWS_KEY = "AKIA' + 'IOSFODNN7EXAMPLQ"\n')
    git(wt, "add", "config.py")
    git(wt, "commit", "-q", "--no-verify", "-m", "config")  # as if the hook was bypassed
    (wt / "more.py").write_text("x = 1\n")
    git(wt, "add", "more.py")
    git(wt, "commit", "-q", "-m", "more")
    proc = ossa(repo, "worktree", "pr", "coder", "greet", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "config.py:1: " in proc.stdout and "IOSFODNN7EXAMPLQ" not in proc.stdout
    assert "possible secret(s) in the 3 commit(s) origin lacks: nothing was pushed" \
        in proc.stderr
    assert remote_rev(remote, "refs/heads/agents/coder/greet") is None
    assert gh_calls(env) == []


def test_only_what_the_remote_lacks_is_scanned(
        setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, _, env = setup
    wt = repo / ".worktrees" / "repo-space__coder__greet"
    assert ossa(repo, "worktree", "pr", "coder", "greet", env=env).returncode == 0
    (wt / "more.py").write_text("x = 1\n")
    git(wt, "add", "more.py")
    git(wt, "commit", "-q", "-m", "more")
    proc = ossa(repo, "worktree", "pr", "coder", "greet", env=env)
    assert "secret scan: 1 commit(s) origin lacks, clean" in proc.stdout


def test_no_remote(setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, _, env = setup
    proc = ossa(repo, "worktree", "pr", "coder", "greet", "--remote", "upstream", env=env)
    assert proc.returncode == 2
    assert "no remote 'upstream': add one (git remote add upstream URL)" in proc.stderr


def test_the_pre_push_gate_still_applies(setup: tuple[Path, Path, dict[str, str]]) -> None:
    repo, remote, env = setup
    (repo / ".ossa-hooks.yaml").write_text(CONFIG.replace("pre-push: []", "pre-push: [ossa-judge]"))
    assert ossa(repo, "install").returncode == 0
    wt = repo / ".worktrees" / "repo-space__coder__greet"
    (wt / "broken.txt").write_text("the judge refuses this\n")
    git(wt, "add", "broken.txt")
    git(wt, "commit", "-q", "--no-verify", "-m", "broken")
    proc = ossa(repo, "worktree", "pr", "coder", "greet", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip() == ("ossa-hooks: git push origin agents/coder/greet failed:"
                                   " ossa-judge: push refused")
    assert remote_rev(remote, "refs/heads/agents/coder/greet") is None
    assert gh_calls(env) == []
