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
        "_pushed",
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
        self._pushed: list[PushedRef] | None = None

    @property
    def all_files(self) -> bool:
        """Under pre-commit: it passed files the commit does not change (``pre-commit run
        --all-files``, ``--files``, ``--from-ref``): the actions then look at those files
        whole, as the index holds them, not at a staged change. A commit passes only files
        it changes."""
        if not (self.via_pre_commit and self.filenames):
            return False
        from ossa_hooks import git

        env = git.no_git_env(self.environ or os.environ)
        index = (self.environ or os.environ).get("GIT_INDEX_FILE")
        if index:
            env["GIT_INDEX_FILE"] = os.path.abspath(index)
        top = self.repo.toplevel_str or "."
        staged = git.call(["diff", "--cached", "--name-only", "-z", "--no-renames"], top,
                          env=env).stdout
        return not set(self.filenames) <= set(git.split_z(staged))

    @property
    def pushed_refs(self) -> list[PushedRef]:
        """pre-push's stdin as records.

        Under the pre-commit framework git's stdin is gone: pre-commit exposes at most one ref
        (none for a push that includes the root commit, none under ``pre-commit run``), so the
        refs are decided from git instead: see :func:`refs_pre_commit_hides`.
        """
        if self._pushed is None:
            refs = []
            for line in self.stdin.decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) == 4:
                    refs.append(PushedRef(*parts))
            if self.via_pre_commit and self.hook_type == "pre-push":
                remote = self.args[0] if self.args else ""
                refs = refs_pre_commit_hides(self.repo, remote, refs, self.environ)
            self._pushed = refs
        return self._pushed


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


def refs_pre_commit_hides(repo: RepoPaths, remote: str, exposed: Sequence[PushedRef],
                          environ: Mapping[str, str]) -> list[PushedRef]:
    """What a push under pre-commit may be pushing, decided from git: the ref pre-commit
    exposed, the local branch it names, and every local branch tip that ``remote`` lacks
    (``git rev-list TIP --not --remotes=REMOTE``); HEAD when that finds nothing (``pre-commit
    run --hook-stage pre-push`` on a tree the remote has). Never less than was pushed.
    """
    from ossa_hooks import git

    cwd = repo.toplevel_str or repo.git_dir_str
    name = _remote_name(cwd, remote)
    tracking: dict[str, str] = {}
    branches: list[tuple[str, str]] = []
    data = git.run(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads",
                    f"refs/remotes/{name}" if name else "refs/remotes"], cwd).stdout
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        sha, _, ref = line.partition(" ")
        if ref.startswith("refs/heads/"):
            branches.append((sha, ref))
        elif name:
            tracking["refs/heads/" + ref[len(f"refs/remotes/{name}/"):]] = sha
    refs = list(exposed)
    seen = {r.local_ref for r in refs}
    local = environ.get("PRE_COMMIT_LOCAL_BRANCH", "")
    if local and local not in seen:
        local_sha = _commit_of(cwd, local)
        if local_sha:
            remote_ref = environ.get("PRE_COMMIT_REMOTE_BRANCH") or local
            refs.append(PushedRef(local, local_sha, remote_ref,
                                  tracking.get(remote_ref, ZERO_SHA)))
            seen.add(local)
    lacking = ["--remotes=" + name] if name else ["--remotes"]
    for sha, ref in branches:
        if ref in seen:
            continue
        if git.run(["rev-list", "-n1", sha, "--not", *lacking, "--"], cwd).stdout.strip():
            refs.append(PushedRef(ref, sha, ref, tracking.get(ref, ZERO_SHA)))
    if not refs:
        head = _commit_of(cwd, "HEAD")
        if head:
            refs.append(PushedRef("HEAD", head, "HEAD", ZERO_SHA))
    return refs


def _remote_name(cwd: str, remote: str) -> str:
    """The configured remote ``remote`` names (it may be a URL); "" for none (any remote)."""
    from ossa_hooks import git

    if not remote:
        return ""
    data = git.run(["config", "--get-regexp", r"^remote\..*\.url$"], cwd, check=False).stdout
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        key, _, url = line.partition(" ")
        remote_name = key[len("remote."):-len(".url")]
        if remote in (remote_name, url):
            return remote_name
    return ""


def _commit_of(cwd: str, rev: str) -> str | None:
    from ossa_hooks import git

    proc = git.run(["rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}"], cwd,
                   check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def pre_commit_stash(environ: Mapping[str, str]) -> str | None:
    """The patch of unstaged changes the pre-commit framework put aside for this hook run.

    Before running hooks, pre-commit saves the unstaged changes of tracked files as
    ``patch<time>-<its pid>`` in its store folder and checks the files out clean; it puts them
    back afterwards. A hook that saves the working tree must add them back. Found by the pid of
    a parent process (pre-commit runs the hook's entry directly), and only when the patch is
    newer than that process; None when pre-commit stashed nothing.
    """
    if environ.get("PRE_COMMIT") != "1":
        return None
    home = environ.get("PRE_COMMIT_HOME") or os.path.join(
        environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "pre-commit")
    try:
        names = os.listdir(home)
    except OSError:
        return None
    pid = os.getppid()
    for _ in range(3):  # pre-commit, or the wrapper it started the entry through
        started = _process_start(pid)
        found = []
        for name in names:
            if name.startswith("patch") and name.endswith(f"-{pid}"):
                path = os.path.join(home, name)
                try:
                    mtime = os.stat(path).st_mtime
                except OSError:
                    continue
                if started is None or mtime >= started - 1:
                    found.append((mtime, path))
        if found:
            return max(found)[1]
        pid = _parent_of(pid) or 0
        if pid <= 1:
            break
    return None


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rpartition(")")[2].split()
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
