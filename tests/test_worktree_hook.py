"""The ``ossa-cleanup`` post-merge action's fast path (ossa_hooks.worktree.hook) on real
repositories: merges with no agent worktree do nothing and import nothing heavy (seen from a
separate interpreter's ``sys.modules``); the layouts it cannot read go to the full check; a
merged, clean agent worktree is still removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.worktree.hook import may_have_work

QUIET_CONFIG = (
    "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n  pre-rebase: []\n"
    "  post-merge: [ossa-cleanup]\n"
)

# Runs in the repository like git runs a hook: the layout read from the file system, then
# either the action's function alone or the whole `post-merge` hook; prints the exit code and
# the modules imported by that call.
PROBE = r"""
import json, sys
from ossa_hooks.git import hook_repo_paths
from ossa_hooks.hook_context import HookContext
from ossa_hooks.worktree import hook as worktree_hook
mode = sys.argv[1]
repo = hook_repo_paths()
before = set(sys.modules)
if mode == "action":
    rc = worktree_hook.hook(HookContext("post-merge", ("0",), repo, None))
else:
    from ossa_hooks.run import run
    rc = run("post-merge", ["0"], repo=repo)
print(json.dumps({"rc": rc, "new": sorted(set(sys.modules) - before)}))
"""


def probe(cwd: Path, mode: str) -> tuple[int, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_GLOBAL"] = os.environ["GIT_CONFIG_GLOBAL"]
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    r = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=cwd, capture_output=True,
                       text=True, check=False, env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    return out["rc"], out["new"]


@pytest.fixture
def proj(committed_repo: Path) -> Path:
    """A repository whose only post-merge action is ossa-cleanup, with the hook installed."""
    (committed_repo / ".ossa-hooks.yaml").write_text(QUIET_CONFIG)
    git(committed_repo, "add", ".")
    git(committed_repo, "commit", "-q", "-m", "config")
    r = ossa(committed_repo, "install", "-t", "post-merge")
    assert r.returncode == 0, r.stderr
    return committed_repo


def side_branch(repo: Path, name: str = "side") -> None:
    git(repo, "checkout", "-q", "-b", name)
    (repo / f"{name}.txt").write_text(f"{name}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", name)
    git(repo, "checkout", "-q", "main")


def worktree_paths(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain").stdout
    return [line.removeprefix("worktree ") for line in out.splitlines()
            if line.startswith("worktree ")]


def hook_events(repo: Path) -> list[dict[str, object]]:
    r = ossa(repo, "audit", "--format", "json", "-n", "0")
    assert r.returncode == 0, r.stderr
    return [e for e in json.loads(r.stdout) if e["kind"] == "hook" and e["name"] == "post-merge"]


# --- nothing to do ------------------------------------------------------------------------------


def test_merge_without_agent_worktrees_does_nothing(proj: Path, tmp_path: Path) -> None:
    # A linked worktree on an ordinary branch is no agent worktree.
    git(proj, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "feature wt"))
    side_branch(proj)
    before = worktree_paths(proj)
    merge = git(proj, "merge", "--no-edit", "side", check=False)
    assert merge.returncode == 0, merge.stderr
    assert "ossa-cleanup" not in merge.stdout + merge.stderr
    assert (proj / "side.txt").exists() and (tmp_path / "feature wt").is_dir()
    assert worktree_paths(proj) == before == [str(proj), str(tmp_path / "feature wt")]
    heads = git(proj, "for-each-ref", "--format=%(refname:short)", "refs/heads").stdout.split()
    assert heads == ["feature", "main", "side"]
    # The hook did run (and succeeded): it just had nothing to clean.
    (event,) = hook_events(proj)
    assert event["exit_code"] == 0
    assert event["detail"]["actions"] == {"ossa-cleanup": "ok"}  # type: ignore[index]


def test_nothing_to_do_imports_nothing(proj: Path, tmp_path: Path) -> None:
    git(proj, "worktree", "add", "-q", "--detach", str(tmp_path / "detached"))
    rc, new = probe(proj, "action")
    assert rc == 0
    assert new == []  # not worktree, not pathlib, not subprocess: nothing at all
    rc, new = probe(proj, "hook")
    assert rc == 0
    assert "ossa_hooks.worktree.cleanup" not in new and "ossa_hooks.agents.spawn" not in new


def test_an_agent_worktree_takes_the_full_check(proj: Path) -> None:
    r = ossa(proj, "worktree", "create", "coder", "t1")
    assert r.returncode == 0, r.stderr
    rc, new = probe(proj, "action")
    assert rc == 0
    # the probe does see a heavy import when there is one
    assert "ossa_hooks.worktree.cleanup" in new
    # From inside the agent worktree itself: a merge into an agent branch finishes nothing.
    [wt] = [p for p in (proj / ".worktrees").iterdir()]
    rc, new = probe(wt, "action")
    assert rc == 0 and new == []


def test_bare_repository_does_nothing(tmp_path: Path) -> None:
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.worktree.hook import hook

    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    (bare / "worktrees" / "x").mkdir(parents=True)  # would mean "maybe" in a worktree
    ctx = HookContext("post-merge", ("0",), RepoPaths(None, bare, bare, True), None)  # type: ignore[arg-type]
    assert hook(ctx) == 0


# --- what the fast path cannot read goes to the full check --------------------------------------


HEADS: list[tuple[bytes | None, bool]] = [
    (b"ref: refs/heads/feature\n", False),
    (b"ref: refs/heads/agents/coder/t9\n", True),
    (b"a" * 40 + b"\n", False),  # detached, SHA-1
    (b"b" * 64 + b"\n", False),  # detached, SHA-256
    (b"ref: refs/heads/.invalid\n", True),  # reftable's placeholder
    (b"abc\n", True),  # truncated
    (b"", True),
    (None, True),  # no HEAD file at all
]


def test_linked_worktree_heads(committed_repo: Path, tmp_path: Path) -> None:
    git(committed_repo, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "linked"))
    common = committed_repo / ".git"
    [name] = os.listdir(common / "worktrees")
    path = common / "worktrees" / name / "HEAD"
    seen = []
    for head, _ in HEADS:
        if head is None:
            path.unlink()
        else:
            path.write_bytes(head)
        seen.append((head, may_have_work(str(common), str(common))))
    assert seen == HEADS


def test_unreadable_worktrees_folder_means_full_check(committed_repo: Path) -> None:
    common = committed_repo / ".git"
    assert may_have_work(str(common), str(common)) is False
    (common / "worktrees").write_text("not a folder\n")
    assert may_have_work(str(common), str(common)) is True


def test_main_worktree_head_unreadable_still_looks_at_linked_ones(committed_repo: Path,
                                                                  tmp_path: Path) -> None:
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/x", str(tmp_path / "a"))
    common = committed_repo / ".git"
    fake_git_dir = tmp_path / "no-head-here"
    fake_git_dir.mkdir()
    # This worktree's HEAD cannot be read: it is not known to be an agent branch.
    assert may_have_work(str(common), str(fake_git_dir)) is True


# --- something to do -----------------------------------------------------------------------------


def test_merged_clean_agent_worktree_is_removed(proj: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    git(proj, "worktree", "add", "-q", "--detach", str(plain))
    r = ossa(proj, "worktree", "create", "coder", "t1")
    assert r.returncode == 0, r.stderr
    [wt] = [p for p in (proj / ".worktrees").iterdir()]
    (wt / "work.txt").write_text("done\n")
    git(wt, "add", "work.txt")
    git(wt, "commit", "-q", "-m", "work")
    merge = git(proj, "merge", "--no-edit", "agents/coder/t1", check=False)  # fast-forward
    assert merge.returncode == 0, merge.stderr
    said = merge.stdout + merge.stderr
    assert (f"ossa-cleanup: moved {wt} to the trash and deleted branch agents/coder/t1"
            " (merged)") in said
    assert not wt.exists()
    assert git(proj, "for-each-ref", "refs/heads/agents").stdout == ""
    assert (proj / "work.txt").read_text() == "done\n"
    assert plain.is_dir()  # the non-agent worktree is left alone
    assert worktree_paths(proj) == [str(proj), str(plain)]
