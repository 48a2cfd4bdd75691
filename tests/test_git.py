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


def test_start_and_finish_overlap_commands(committed_repo: Path) -> None:
    first = ogit.start(["rev-parse", "HEAD"], committed_repo)
    second = ogit.start(["rev-parse", "HEAD^{tree}"], committed_repo)
    assert len(ogit.finish(second).stdout.strip()) == 40
    assert len(ogit.finish(first).stdout.strip()) == 40
    bad = ogit.start(["rev-parse", "--verify", "nope"], committed_repo)
    assert ogit.finish(bad, check=False).returncode != 0
    with pytest.raises(ogit.GitError, match=r"^git rev-parse --verify nope: fatal"):
        ogit.call(["rev-parse", "--verify", "nope"], committed_repo)


def test_call_is_run_without_subprocess(committed_repo: Path) -> None:
    big = b"".join(b"line %d\n" % i for i in range(100_000))  # more than a pipe holds
    done = ogit.call(["hash-object", "--stdin", "-w"], committed_repo, input=big)
    blob = done.stdout.decode().strip()
    assert ogit.call(["cat-file", "blob", blob], committed_repo).stdout == big
    assert ogit.call(["rev-parse", "--show-toplevel"], committed_repo).stdout.decode().strip() \
        == str(committed_repo)
    env = {**ogit.no_git_env(), "GIT_INDEX_FILE": str(committed_repo / "other-index")}
    assert ogit.call(["ls-files"], committed_repo, env=env).stdout == b""
    assert ogit.call(["status"], committed_repo / "nope", check=False).returncode != 0


def test_cancel_stops_and_reaps(committed_repo: Path) -> None:
    running = ogit.start(["hash-object", "--stdin"], committed_repo, input=b"x")
    ogit.cancel(running)
    with pytest.raises(ChildProcessError):
        os.waitpid(running.pid, os.WNOHANG)
    ogit.cancel(running)  # twice is harmless


def test_without_stderr_output_is_read_whole_and_messages_dropped(committed_repo: Path) -> None:
    big = b"".join(b"line %d\n" % i for i in range(100_000))  # more than a pipe holds
    blob = ogit.call(["hash-object", "--stdin", "-w"], committed_repo, input=big).stdout
    name = blob.decode().strip()
    done = ogit.finish(ogit.start(["cat-file", "blob", name], committed_repo, stderr=False))
    assert done.stdout == big and done.stderr == b""
    failed = ogit.finish(ogit.start(["rev-parse", "--verify", "nope"], committed_repo,
                                    stderr=False), check=False)
    assert failed.returncode != 0 and failed.stderr == b""
    with pytest.raises(ogit.GitError, match=r"^git rev-parse --verify nope"):
        ogit.finish(ogit.start(["rev-parse", "--verify", "nope"], committed_repo, stderr=False))
    # With input too (the poll path): stdout still whole.
    done = ogit.finish(ogit.start(["hash-object", "--stdin"], committed_repo, input=big,
                                  stderr=False))
    assert done.stdout == blob


def test_hook_env_is_plain_only_without_variables_that_change_answers(committed_repo: Path,
                                                                       tmp_path: Path) -> None:
    repo = ogit.repo_paths(committed_repo)
    base = {"PATH": "/usr/bin", "GIT_PREFIX": "", "GIT_EXEC_PATH": "/usr/lib/git-core",
            "GIT_TRACE2_PARENT_SID": "x", "GIT_CONFIG_GLOBAL": "/dev/null"}
    assert ogit.hook_env_is_plain(repo, base)
    assert ogit.hook_env_is_plain(repo, {**base, "GIT_DIR": ".git"})
    assert not ogit.hook_env_is_plain(repo, {**base, "GIT_DIR": str(tmp_path)})
    assert not ogit.hook_env_is_plain(repo, {**base, "GIT_INDEX_FILE": "other"})
    assert not ogit.hook_env_is_plain(repo, {**base, "GIT_CONFIG_PARAMETERS": "'a.b'='c'"})
    linked = tmp_path / "linked"
    git(committed_repo, "worktree", "add", "-q", "--detach", str(linked))
    linked_repo = ogit.repo_paths(linked)
    assert ogit.hook_env_is_plain(linked_repo, {**base, "GIT_DIR": linked_repo.git_dir_str})



def test_no_git_on_path_is_one_line(committed_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ossa_hooks import git as git_mod

    monkeypatch.setenv("PATH", str(committed_repo))  # a folder with no git in it
    for call in (lambda: git_mod.run(["status"], committed_repo),
                 lambda: git_mod.call(["status"], committed_repo),
                 lambda: git_mod.repo_paths(committed_repo)):
        with pytest.raises(git_mod.GitUnavailable) as e:
            call()
        assert e.value.message == git_mod.GIT_MISSING
        assert e.value.code == 2


def test_repo_paths_hints_name_only_what_the_command_has(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from ossa_hooks import git as git_mod
    from ossa_hooks.errors import OssaError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(OssaError) as e:
        git_mod.repo_paths()
    assert e.value.message == (f"not a git repository: {tmp_path} (run it inside a repository,"
                               " or `git init` one first)")
    with pytest.raises(OssaError) as e:
        git_mod.repo_paths(option="--repo")
    assert e.value.message.endswith("(run it inside a repository, or pass --repo PATH)")
    with pytest.raises(OssaError) as e:
        git_mod.repo_paths("/path/to/your/repo", option="--repo")
    assert e.value.message == ("not a git repository: /path/to/your/repo (no such folder;"
                               " check the path)")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OssaError) as e:
        git_mod.repo_paths(tmp_path / "file")
    assert "(not a folder; check the path)" in e.value.message


def test_arguments_the_locale_cannot_spell_still_reach_git(committed_repo: Path) -> None:
    from ossa_hooks import git as git_mod

    assert git_mod.arg("ø") in (b"\xc3\xb8",)
    assert git_mod.arg(os.fsdecode(b"caf\xe9")) == b"caf\xe9"
