"""The git wrapper: clean environment, typed errors, repository discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import git

from ossa_hooks import git as ogit
from ossa_hooks.errors import OssaError


def test_hook_variables_are_cleared() -> None:
    env = ogit.no_git_env({"GIT_DIR": "/x", "GIT_INDEX_FILE": "/y", "GIT_WORK_TREE": "/z",
                           "GIT_SSH_COMMAND": "ssh", "PATH": "/bin"})
    assert env == {"GIT_SSH_COMMAND": "ssh", "PATH": "/bin"}


def test_run_ignores_a_leaked_git_dir(committed_repo: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    monkeypatch.setenv("GIT_DIR", str(committed_repo / ".git"))
    top = ogit.out(["rev-parse", "--show-toplevel"], other)
    assert Path(top) == other


def test_errors_carry_the_command(committed_repo: Path) -> None:
    with pytest.raises(ogit.GitError) as info:
        ogit.run(["rev-parse", "--verify", "nope"], committed_repo)
    assert info.value.message.startswith("git rev-parse --verify nope: fatal:")
    assert info.value.returncode == 128
    assert not ogit.ok(["rev-parse", "--verify", "nope"], committed_repo)


def test_repo_paths_in_a_linked_worktree_and_sub_folder(committed_repo: Path,
                                                        tmp_path: Path) -> None:
    linked = tmp_path / "linked ü"
    git(committed_repo, "worktree", "add", "-q", "-b", "side", str(linked))
    (linked / "sub").mkdir()
    paths = ogit.repo_paths(linked / "sub")
    assert paths.toplevel == linked
    assert paths.common_dir == committed_repo / ".git"
    assert paths.git_dir.parent == committed_repo / ".git" / "worktrees"
    assert paths.state_dir == committed_repo / ".git" / "ossa-hooks"


def test_repo_paths_bare_and_outside(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    paths = ogit.repo_paths(bare)
    assert paths.is_bare and paths.toplevel is None
    with pytest.raises(OssaError):
        paths.worktree
    with pytest.raises(OssaError) as info:
        ogit.repo_paths(tmp_path)
    assert "not a git repository" in info.value.message


def test_split_z_keeps_odd_names() -> None:
    assert ogit.split_z("a b\0ü\0\n\0".encode() + b"\xff\0") == ["a b", "ü", "\n", "\udcff"]


def test_environment_is_not_mutated() -> None:
    before = dict(os.environ)
    ogit.no_git_env()
    assert dict(os.environ) == before
