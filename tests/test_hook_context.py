"""Hook arguments rebuilt from what git or the pre-commit framework passes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from conftest import git

from ossa_hooks.hook_context import Prefetched
from ossa_hooks.hook_context import from_pre_commit
from ossa_hooks.hook_context import infer_hook_type


def test_infer() -> None:
    assert infer_hook_type({"PRE_COMMIT_CHECKOUT_TYPE": "1"}) == "post-checkout"
    assert infer_hook_type({"PRE_COMMIT_IS_SQUASH_MERGE": "0"}) == "post-merge"
    assert infer_hook_type({"PRE_COMMIT_REMOTE_NAME": "origin"}) == "pre-push"
    assert infer_hook_type({"PRE_COMMIT_PRE_REBASE_UPSTREAM": "main"}) == "pre-rebase"
    assert infer_hook_type({}) is None


def test_pre_push_stdin_is_rebuilt() -> None:
    env = {
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_REMOTE_URL": "/r.git",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/x",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/x",
        "PRE_COMMIT_FROM_REF": "0" * 40,
        "PRE_COMMIT_TO_REF": "a" * 40,
    }
    hook, args, stdin = from_pre_commit(env, ("pre-push",))
    assert (hook, args) == ("pre-push", ("origin", "/r.git"))
    assert stdin == f"refs/heads/x {'a' * 40} refs/heads/x {'0' * 40}\n".encode()


def test_pre_rebase_and_post_merge() -> None:
    env = {"PRE_COMMIT_PRE_REBASE_UPSTREAM": "main", "PRE_COMMIT_PRE_REBASE_BRANCH": "topic"}
    assert from_pre_commit(env, ("post-checkout", "pre-rebase")) == (
        "pre-rebase", ("main", "topic"), b"")
    assert from_pre_commit({"PRE_COMMIT_IS_SQUASH_MERGE": "1"}, ("post-merge",)) == (
        "post-merge", ("1",), b"")


def test_prefetched_answers_are_read_as_they_arrive() -> None:
    r, w = os.pipe()
    answers = Prefetched(r)

    def shim() -> None:  # answers come in the order the questions finish, in pieces
        os.write(w, b"second 1\nfir")
        time.sleep(0.05)
        os.write(w, b"st 0\nbroken line\n")
        os.close(w)

    writer = threading.Thread(target=shim)
    writer.start()
    assert answers.status("first") == 0  # waits for the rest of its line
    assert answers.status("second") == 1
    assert answers.status("never asked") is None  # the end of the pipe: no such answer
    assert answers.status("broken") is None
    writer.join()
    answers.close()  # twice is harmless



def _ctx(repo: Path, remote: str, stdin: bytes = b"") -> object:
    from ossa_hooks.config import load
    from ossa_hooks.git import repo_paths
    from ossa_hooks.hook_context import HookContext

    return HookContext("pre-push", (remote, ""), repo_paths(str(repo)), load(repo), stdin=stdin,
                       via_pre_commit=True, environ={"PRE_COMMIT": "1"})


def test_under_pre_commit_the_pushed_refs_come_from_git(committed_repo: Path,
                                                        tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(committed_repo, "remote", "add", "origin", str(remote))
    git(committed_repo, "push", "-q", "origin", "main")
    git(committed_repo, "checkout", "-q", "-b", "topic")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "topic")
    tip = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    # The remote named by its URL (git push URL …) is the same remote.
    for name in ("origin", str(remote)):
        refs = _ctx(committed_repo, name).pushed_refs  # type: ignore[attr-defined]
        assert [(r.local_ref, r.local_sha, r.remote_sha) for r in refs] == [
            ("refs/heads/topic", tip, "0" * 40)]
    git(committed_repo, "push", "-q", "origin", "topic")
    refs = _ctx(committed_repo, "origin").pushed_refs  # type: ignore[attr-defined]
    assert [(r.local_ref, r.local_sha) for r in refs] == [("HEAD", tip)]  # never nothing


def test_pre_commit_stash_is_found_by_the_parent_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "pc-home"
    home.mkdir()
    probe = ("import sys; from ossa_hooks.hook_context import pre_commit_stash;"
             " print(pre_commit_stash({'PRE_COMMIT': '1', 'PRE_COMMIT_HOME': sys.argv[1]}))")

    def found() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(home)], capture_output=True,
                              text=True, check=True).stdout.strip()

    assert found() == "None"
    stale = home / f"patch1000-{os.getpid()}"
    stale.write_text("old\n")
    os.utime(stale, (1000, 1000))  # older than this process: another process with our pid
    assert found() == "None"
    patch = home / f"patch2000-{os.getpid()}"
    patch.write_text("diff\n")
    assert found() == str(patch)
    from ossa_hooks.hook_context import pre_commit_stash

    assert pre_commit_stash({"PRE_COMMIT_HOME": str(home)}) is None  # not under pre-commit
