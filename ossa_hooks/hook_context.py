"""What a hook was called with, whether git called it directly or through pre-commit."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths

ZERO_SHA = "0" * 40


class PushedRef:
    """One line of pre-push's stdin."""

    __slots__ = ("local_ref", "local_sha", "remote_ref", "remote_sha")

    def __init__(self, local_ref: str, local_sha: str, remote_ref: str, remote_sha: str) -> None:
        self.local_ref = local_ref
        self.local_sha = local_sha
        self.remote_ref = remote_ref
        self.remote_sha = remote_sha

    def __repr__(self) -> str:
        return f"PushedRef({self.local_ref} {self.local_sha} {self.remote_ref} {self.remote_sha})"

    @property
    def is_delete(self) -> bool:
        return set(self.local_sha) == {"0"}


class Prefetched:
    """Answers to git questions the installed shim started with the interpreter.

    They arrive on a pipe (the interpreter's standard input, moved aside by ``run``) as
    ``NAME EXIT-STATUS`` lines, in the order the questions finish; ``status`` waits for one.
    """

    __slots__ = ("_fd", "_pending", "answers")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = b""
        self.answers: dict[str, int] = {}

    def status(self, name: str) -> int | None:
        """The exit status of question ``name``; None when the shim did not ask it."""
        while name not in self.answers and self._fd >= 0:
            try:
                block = os.read(self._fd, 4096)
            except OSError:
                block = b""
            if not block:
                self.close()
                break
            lines = (self._pending + block).split(b"\n")
            self._pending = lines.pop()
            for line in lines:
                key, _, value = line.decode("ascii", "replace").partition(" ")
                if value.strip().isdigit():
                    self.answers[key] = int(value)
        return self.answers.get(name)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class HookContext:
    """Everything an action needs: the hook type, its arguments, the repository, the config.

    ``args`` are git's positional arguments for the hook type (post-checkout: old, new, flag;
    pre-push: remote name, url; post-merge: squash flag; pre-rebase: upstream [, branch]).
    ``filenames`` is what the pre-commit framework passed (empty under a plain git hook).
    """

    # A plain class, not a dataclass: hooks import this, and start-up time is their budget.
    __slots__ = (
        "args",
        "config",
        "environ",
        "filenames",
        "hook_type",
        "prefetched",
        "repo",
        "stdin",
        "via_pre_commit",
    )

    def __init__(
        self,
        hook_type: str,
        args: tuple[str, ...],
        repo: RepoPaths,
        config: Config,
        stdin: bytes = b"",
        filenames: tuple[str, ...] = (),
        via_pre_commit: bool = False,
        environ: Mapping[str, str] | None = None,
        prefetched: Prefetched | None = None,
    ) -> None:
        self.hook_type = hook_type
        self.args = args
        self.repo = repo
        self.config = config
        self.stdin = stdin
        self.filenames = filenames
        self.via_pre_commit = via_pre_commit
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        self.prefetched = prefetched

    @property
    def pushed_refs(self) -> list[PushedRef]:
        """pre-push's stdin as records (under pre-commit: the one ref it exposes)."""
        refs = []
        for line in self.stdin.decode("utf-8", "replace").splitlines():
            parts = line.split()
            if len(parts) == 4:
                refs.append(PushedRef(*parts))
        return refs


def infer_hook_type(environ: Mapping[str, str]) -> str | None:
    """The hook type the pre-commit framework is running, from the variables it sets."""
    if "PRE_COMMIT_CHECKOUT_TYPE" in environ:
        return "post-checkout"
    if "PRE_COMMIT_PRE_REBASE_UPSTREAM" in environ:
        return "pre-rebase"
    if "PRE_COMMIT_IS_SQUASH_MERGE" in environ:
        return "post-merge"
    if "PRE_COMMIT_REMOTE_NAME" in environ or "PRE_COMMIT_REMOTE_BRANCH" in environ:
        return "pre-push"
    return None


def from_pre_commit(
    environ: Mapping[str, str], hook_types: Sequence[str]
) -> tuple[str, tuple[str, ...], bytes]:
    """Rebuild git's hook arguments (and pre-push's stdin) from pre-commit's variables.

    ``hook_types`` are the stages of the action being run. pre-commit sets the rebase
    variables only when git names a branch, so a backup run with no checkout variables is
    the pre-rebase stage.
    """
    inferred = infer_hook_type(environ)
    if inferred in hook_types and inferred is not None:
        hook_type = inferred
    else:
        hook_type = "pre-rebase" if "pre-rebase" in hook_types else hook_types[0]
    get = environ.get
    if hook_type == "post-checkout":
        args: Sequence[str] = (
            get("PRE_COMMIT_FROM_REF", ZERO_SHA),
            get("PRE_COMMIT_TO_REF", ZERO_SHA),
            get("PRE_COMMIT_CHECKOUT_TYPE", "1"),
        )
        return hook_type, tuple(args), b""
    if hook_type == "pre-rebase":
        upstream = get("PRE_COMMIT_PRE_REBASE_UPSTREAM", "")
        branch = get("PRE_COMMIT_PRE_REBASE_BRANCH", "")
        return hook_type, tuple(a for a in (upstream, branch) if a), b""
    if hook_type == "post-merge":
        return hook_type, (get("PRE_COMMIT_IS_SQUASH_MERGE", "0"),), b""
    if hook_type == "pre-push":
        args = (get("PRE_COMMIT_REMOTE_NAME", ""), get("PRE_COMMIT_REMOTE_URL", ""))
        to_ref = get("PRE_COMMIT_TO_REF", "")
        stdin = b""
        if to_ref:
            local = get("PRE_COMMIT_LOCAL_BRANCH", "HEAD")
            remote = get("PRE_COMMIT_REMOTE_BRANCH", local)
            from_ref = get("PRE_COMMIT_FROM_REF", ZERO_SHA)
            stdin = f"{local} {to_ref} {remote} {from_ref}\n".encode()
        return hook_type, tuple(args), stdin
    return hook_type, (), b""
