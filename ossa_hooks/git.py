"""The one place that runs ``git``: a clean environment, bytes in and out, typed errors."""

from __future__ import annotations

import os

from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping
    from collections.abc import Sequence
    from pathlib import Path

# Variables git exports to hooks. Left in place they would point a git command run on
# another repository or worktree at the hook's repository (pre-commit learnt this from
# real bug reports: pre-commit/pre-commit#300, #1849).
_HOOK_ENV_KEEP = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_SYSTEM",
        "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT",
        "GIT_HTTP_USER_AGENT",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
        "GIT_TRACE",
        "GIT_TRACE2",
        "GIT_TRACE2_EVENT",
        "GIT_ALLOW_PROTOCOL",
    }
)


class GitError(OssaError):
    """A git command failed; carries the command, its exit code and its stderr."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}"
        super().__init__(f"git {' '.join(args)}: {detail}", code=2)
        self.args_ = tuple(args)
        self.returncode = returncode
        self.stderr = stderr


class GitUnavailable(OssaError):
    """git could not be started at all: every later git command would fail the same way."""


GIT_MISSING = "git not found on PATH (install git, or add the folder that holds it to PATH)"


def launch_error(error: OSError, cwd: str | os.PathLike[str] | None = None) -> OssaError:
    """The one-line error for a git command that could not even start.

    Every way of starting git goes through here, so a missing git, a folder that does not
    exist or a command line too long for the system reads the same from every command.
    """
    import errno

    if cwd is not None and not os.path.isdir(cwd):
        from ossa_hooks.output import quote_path

        return OssaError(f"not a folder: {quote_path(os.fspath(cwd))} (check the path)")
    if error.errno == errno.ENOENT:
        return GitUnavailable(GIT_MISSING)
    if error.errno in (errno.EACCES, errno.EPERM):
        return GitUnavailable(f"git cannot be run: {error.strerror} (check the git found on"
                              " PATH)")
    if error.errno == errno.E2BIG:
        return OssaError("a git command line is too long for this system (too many paths or"
                         " patterns at once)")
    return GitUnavailable(f"git cannot be run: {error.strerror or error}")


def _trace(argv: Sequence[str], cwd: str | os.PathLike[str] | None) -> None:
    """``--verbose``: each git command on stderr before it runs."""
    if os.environ.get("OSSA_HOOKS_VERBOSE") == "1":
        import shlex
        import sys

        where = f" (in {os.fspath(cwd)})" if cwd is not None else ""
        print(f"+ git {' '.join(shlex.quote(a) for a in argv)}{where}", file=sys.stderr)


# Variables git sets for hooks that only name things: they change no git command's answer.
_HOOK_ENV_NAMING = frozenset({"GIT_PREFIX", "GIT_TRACE2_PARENT_NAME", "GIT_TRACE2_PARENT_SID"})


def hook_env_is_plain(repo: RepoPaths, environ: Mapping[str, str] | None = None) -> bool:
    """True when git run in the hook's worktree with the hook's own environment answers as
    git run with ``no_git_env()``: no GIT_* variable but the kept ones, those that only name
    things (``GIT_PREFIX``, trace2's parent), and a ``GIT_DIR`` naming the worktree's own
    git dir (git sets it in linked worktrees)."""
    env = os.environ if environ is None else environ
    for key, value in env.items():
        if not key.startswith("GIT_") or key in _HOOK_ENV_KEEP or key in _HOOK_ENV_NAMING:
            continue
        if key == "GIT_DIR" and repo.toplevel_str is not None and os.path.realpath(
                os.path.join(repo.toplevel_str, value)) == os.path.realpath(repo.git_dir_str):
            continue
        return False
    return True


def no_git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) without the GIT_* variables set for hooks."""
    env = dict(os.environ if base is None else base)
    return {k: v for k, v in env.items() if not k.startswith("GIT_") or k in _HOOK_ENV_KEEP}


def executable() -> str:
    """The git ossa-hooks runs: the real one when an agent's PATH starts with the agents' git
    (``OSSA_REAL_GIT``, :mod:`ossa_hooks.worktree.guard_git`): ossa-hooks' own git commands are
    not the agent's."""
    return os.environ.get("OSSA_REAL_GIT") or "git"


def run(
    args: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` and return the completed process (stdout and stderr as bytes).

    ``env`` replaces the environment; by default it is the current one without the hook
    variables, so a command always acts on ``cwd``'s repository.
    """
    import subprocess  # here, not at the top: hooks that never run git skip its import cost

    _trace(args, cwd)
    try:
        proc = subprocess.run(
            [os.fsencode(executable()), *(arg(a) for a in args)],
            cwd=arg(cwd) if cwd is not None else None,
            env=no_git_env() if env is None else dict(env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except OSError as e:
        raise launch_error(e, cwd) from None
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


def out(
    args: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> str:
    """stdout of ``git ARGS`` as text, trailing newline removed."""
    stdout = run(args, cwd, env=env, input=input).stdout
    return os.fsdecode(stdout).rstrip("\n")


def ok(args: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> bool:
    """True when ``git ARGS`` exits 0 (for questions such as ``rev-parse --verify``)."""
    return run(args, cwd, check=False).returncode == 0


class Completed:
    """A finished command from ``start``/``call``: ``subprocess.CompletedProcess``'s fields."""

    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: list[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class Running:
    """A git command started by ``start``; ``finish`` collects it."""

    __slots__ = ("args", "done", "err", "input", "out", "pid", "stdin")

    def __init__(self, args: list[str], pid: int, stdin: int | None, out: int, err: int,
                 input: bytes | None) -> None:
        self.args = args
        self.pid = pid
        self.stdin = stdin
        self.out = out
        self.err = err
        self.input = input
        self.done = False


def start(
    args: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    stderr: bool = True,
) -> Running:
    """Start ``git ARGS`` without waiting, so independent commands overlap; ``finish`` it.

    Spawned with ``os.posix_spawnp`` and read with ``select.poll``: importing ``subprocess``
    (with the locale, re, enum, signal and threading modules it pulls in) costs a hook more
    than a small git command does. ``stderr=False`` sends git's messages to /dev/null: with
    stdout the only pipe, ``finish`` reads it without loading ``select`` at all.
    """
    argv = [b"git", *([b"-C", arg(cwd)] if cwd is not None else []), *(arg(a) for a in args)]
    _trace(args, cwd)
    out_r, out_w = os.pipe()
    if stderr:
        err_r, err_w = os.pipe()
    else:
        err_r, err_w = -1, os.open(os.devnull, os.O_WRONLY)
    if input is not None:
        in_r, in_w = os.pipe()
    else:
        in_r, in_w = os.open(os.devnull, os.O_RDONLY), -1
    try:
        pid = os.posix_spawnp(
            executable(),
            argv,
            no_git_env() if env is None else dict(env),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, in_r, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
        )
    except BaseException as e:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        if isinstance(e, OSError):
            raise launch_error(e, cwd) from None
        raise
    finally:
        for fd in (in_r, out_w, err_w):  # the child's ends (os.pipe fds close on exec)
            os.close(fd)
    return Running(list(args), pid, in_w if in_w >= 0 else None, out_r, err_r, input)


def finish(running: Running, check: bool = True) -> Completed:
    """Wait for a command from ``start``: its output, and a GitError when it failed (``check``)."""
    if running.err < 0 and running.stdin is None:
        return _finish_stdout_only(running, check)
    import select

    out_fd, err_fd = running.out, running.err
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    data = memoryview(running.input or b"")
    sent = 0
    try:
        poller = select.poll()
        poller.register(out_fd, select.POLLIN)
        if err_fd >= 0:
            poller.register(err_fd, select.POLLIN)
        if running.stdin is not None:
            if data:
                poller.register(running.stdin, select.POLLOUT)
            else:
                os.close(running.stdin)
                running.stdin = None
        reading = 2 if err_fd >= 0 else 1
        while reading or running.stdin is not None:
            for fd, _event in poller.poll():
                if fd == running.stdin:
                    try:
                        sent += os.write(fd, data[sent:sent + 65536])
                    except BrokenPipeError:
                        sent = len(data)  # git stopped reading: its exit status tells why
                    if sent >= len(data):
                        poller.unregister(fd)
                        running.stdin = None
                        os.close(fd)
                    continue
                block = os.read(fd, 65536)
                if block:
                    chunks[fd].append(block)
                    continue
                poller.unregister(fd)
                reading -= 1
                if fd == out_fd:
                    running.out = -1
                else:
                    running.err = -1
                os.close(fd)
        _, status = os.waitpid(running.pid, 0)
    except BaseException:  # interrupted: leave no git process or descriptor behind
        cancel(running)
        raise
    running.done = True
    done = Completed(running.args, os.waitstatus_to_exitcode(status),
                     b"".join(chunks[out_fd]), b"".join(chunks[err_fd]))
    if check and done.returncode != 0:
        raise GitError(done.args, done.returncode, done.stderr.decode("utf-8", "replace"))
    return done


def _finish_stdout_only(running: Running, check: bool) -> Completed:
    """``finish`` for a command with one pipe (stdout): read it to the end, then reap."""
    chunks: list[bytes] = []
    try:
        while block := os.read(running.out, 65536):
            chunks.append(block)
        os.close(running.out)
        running.out = -1
        _, status = os.waitpid(running.pid, 0)
    except BaseException:  # interrupted: leave no git process or descriptor behind
        cancel(running)
        raise
    running.done = True
    done = Completed(running.args, os.waitstatus_to_exitcode(status), b"".join(chunks), b"")
    if check and done.returncode != 0:
        raise GitError(done.args, done.returncode, "")
    return done


def cancel(running: Running) -> None:
    """Stop a command from ``start`` that will not be finished (kill, reap, close its pipes)."""
    if running.done:
        return
    running.done = True
    # Plain try/except: `contextlib` (and the collections and functools it loads) would cost
    # a hook more than the kill.
    try:
        os.kill(running.pid, 9)
    except OSError:
        pass
    try:
        os.waitpid(running.pid, 0)
    except OSError:
        pass
    for fd in (running.out, running.err, running.stdin):
        if fd is not None and fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def call(
    args: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> Completed:
    """``run`` for hook hot paths: the same command and errors, without importing subprocess."""
    return finish(start(args, cwd, env=env, input=input), check)


def split_z(data: bytes) -> list[str]:
    """Split ``-z`` output into paths (git writes raw bytes; undecodable ones survive).

    Decoded as the file system decodes names (``os.fsdecode``), so a path read from git opens,
    stats and goes back to git as the same bytes in any locale (an ASCII ``LC_ALL=C`` too).
    """
    return [os.fsdecode(p) for p in data.split(b"\0") if p]


def arg(value: str | os.PathLike[str]) -> bytes:
    """A command-line argument as bytes: as the file system encodes it, or UTF-8 for text the
    locale cannot spell (a pattern from the config under ``LC_ALL=C``); never an error."""
    text = os.fspath(value)
    try:
        return os.fsencode(text)
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


class RepoPaths:
    """Where a repository's parts live, as seen from one of its worktrees.

    The ``*_str`` attributes are plain strings; the ``Path`` properties import pathlib on
    first use, which the hook fast path never pays for (it costs as much as the hook).
    """

    __slots__ = ("common_dir_str", "git_dir_str", "is_bare", "toplevel_str")

    def __init__(
        self,
        toplevel: str | os.PathLike[str] | None,
        git_dir: str | os.PathLike[str],
        common_dir: str | os.PathLike[str],
        is_bare: bool,
    ) -> None:
        self.toplevel_str = os.fspath(toplevel) if toplevel is not None else None
        self.git_dir_str = os.fspath(git_dir)
        self.common_dir_str = os.fspath(common_dir)
        self.is_bare = is_bare

    @property
    def toplevel(self) -> Path | None:
        from pathlib import Path

        return Path(self.toplevel_str) if self.toplevel_str is not None else None

    @property
    def git_dir(self) -> Path:
        from pathlib import Path

        return Path(self.git_dir_str)

    @property
    def common_dir(self) -> Path:
        from pathlib import Path

        return Path(self.common_dir_str)

    @property
    def worktree(self) -> Path:
        """The worktree folder; an error for a bare repository."""
        top = self.toplevel
        if top is None:
            raise OssaError("this is a bare repository: run this inside a worktree")
        return top

    @property
    def state_dir_str(self) -> str:
        return os.path.join(self.common_dir_str, "ossa-hooks")

    @property
    def state_dir(self) -> Path:
        """Where ossa-hooks keeps its state: shared by every worktree of the repository."""
        return self.common_dir / "ossa-hooks"


def repo_paths(cwd: str | os.PathLike[str] | None = None, *, option: str | None = None
               ) -> RepoPaths:
    """Locate the repository containing ``cwd``; a one-line error outside one.

    ``cwd`` is what the user passed (``--repo PATH``) or None for the current folder.
    ``option`` names the command's option that chooses another repository, when it has one
    (``--repo``): the hint outside a repository mentions it only then.

    Honours ``GIT_DIR``/``GIT_WORK_TREE`` when git set them (inside a hook), so the
    hook's own repository is the one found.
    """
    from ossa_hooks.output import quote_path

    if cwd is not None and not os.path.isdir(cwd):
        what = "not a folder" if os.path.exists(cwd) else "no such folder"
        raise OssaError(f"not a git repository: {quote_path(os.fspath(cwd))} ({what}; check the"
                        " path)")
    env = dict(os.environ)
    proc = run(
        [
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
            "--is-bare-repository",
            "--show-toplevel",
        ],
        cwd,
        env=env,
        check=False,
    )
    lines = os.fsdecode(proc.stdout).splitlines()
    if proc.returncode != 0 and len(lines) < 3:
        where = os.path.abspath(cwd if cwd is not None else os.getcwd())
        if cwd is not None:
            hint = "run `git init` there, or pass the folder of a repository"
        elif option:
            hint = f"run it inside a repository, or pass {option} PATH"
        else:
            hint = "run it inside a repository, or `git init` one first"
        raise OssaError(f"not a git repository: {quote_path(where)} ({hint})")
    toplevel = lines[3] if len(lines) > 3 and lines[3] else None
    return RepoPaths(toplevel, lines[0], lines[1], lines[2] == "true")


def hook_repo_paths() -> RepoPaths:
    """``repo_paths()`` for a process git started as a hook, without running git.

    git starts a hook in the top of the worktree with ``GIT_DIR`` set for linked worktrees
    (unset in the main one), so the layout can be read from the file system. Anything
    unusual (a bare repository, a ``.git`` file we cannot read) falls back to ``repo_paths()``.
    """
    cwd = os.getcwd()
    git_dir = os.environ.get("GIT_DIR")
    if git_dir:
        git_dir = os.path.join(cwd, git_dir)
    elif os.path.isdir(os.path.join(cwd, ".git")):
        git_dir = os.path.join(cwd, ".git")
    else:
        return repo_paths()
    gitdir_file = os.path.join(git_dir, "gitdir")
    if os.path.exists(gitdir_file):
        # A linked worktree: its git dir names the worktree's .git file.
        try:
            with open(gitdir_file, encoding="utf-8", errors="surrogateescape") as f:
                dot_git = f.read().strip()
        except OSError:
            return repo_paths()
        if os.path.dirname(os.path.join(git_dir, dot_git)) != cwd:
            return repo_paths()
    elif git_dir != os.path.join(cwd, ".git"):
        return repo_paths()
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            common = os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except FileNotFoundError:
        pass
    except OSError:
        return repo_paths()
    return RepoPaths(cwd, os.path.normpath(git_dir), common, False)


def admin_dir(worktree: str | os.PathLike[str]) -> str | None:
    """A linked worktree's admin folder in the common dir, from its ``.git`` file; None for
    anything else (the main worktree's ``.git`` folder, nothing, or a symlinked ``.git`` file,
    which is never followed)."""
    dot_git = os.path.join(worktree, ".git")
    if os.path.islink(dot_git):
        return None
    try:
        with open(dot_git, encoding="utf-8", errors="surrogateescape") as f:
            line = f.read(4096).strip()
    except OSError:  # a folder (the main worktree), or nothing
        return None
    if not line.startswith("gitdir: "):
        return None
    return os.path.normpath(os.path.join(os.fspath(worktree), line[len("gitdir: "):]))
