"""Hook arguments rebuilt from what git or the pre-commit framework passes."""

from __future__ import annotations

import os
import threading
import time

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

