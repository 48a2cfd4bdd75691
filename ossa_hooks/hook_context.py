"""What a hook was called with, whether git called it directly or through pre-commit."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from ossa_hooks.config import Config
from ossa_hooks.git import RepoPaths

ZERO_SHA = "0" * 40


@dataclass(frozen=True, slots=True)
class PushedRef:
    """One line of pre-push's stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def is_delete(self) -> bool:
        return set(self.local_sha) == {"0"}


@dataclass(frozen=True, slots=True)
class HookContext:
    """Everything an action needs: the hook type, its arguments, the repository, the config.

    ``args`` are git's positional arguments for the hook type (post-checkout: old, new, flag;
    pre-push: remote name, url; post-merge: squash flag; pre-rebase: upstream [, branch]).
    ``filenames`` is what the pre-commit framework passed (empty under a plain git hook).
    """

    hook_type: str
    args: tuple[str, ...]
    repo: RepoPaths
    config: Config
    stdin: bytes = b""
    filenames: tuple[str, ...] = ()
    via_pre_commit: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)

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
