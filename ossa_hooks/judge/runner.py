"""Running the judge's checks: a temporary detached worktree of the judged commit, a thread
pool of up to ``judge.jobs`` checks, each in its own process group (killed whole at its
timeout or on Ctrl-C), its output in a log file, an environment without git's hook variables.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.judge.gate import FAILED
from ossa_hooks.judge.gate import MISSING
from ossa_hooks.judge.gate import PASSED
from ossa_hooks.judge.gate import TIMEOUT
from ossa_hooks.judge.gate import CheckResult
from ossa_hooks.judge.gate import git_cwd
from ossa_hooks.judge.gate import tail_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Mapping
    from collections.abc import Sequence

    from ossa_hooks.git import RepoPaths
    from ossa_hooks.judge.gate import Check
    from ossa_hooks.judge.gate import Ui

# After SIGTERM, how long a timed-out check's process group may take to exit before SIGKILL.
KILL_GRACE_S = 2.0

# How to get the tools a check may name; anything else gets a generic hint.
INSTALL_HINTS: Mapping[str, str] = {
    "pytest": "pip install pytest",
    "py.test": "pip install pytest",
    "ruff": "pip install ruff",
    "bandit": "pip install bandit",
    "mypy": "pip install mypy",
    "flake8": "pip install flake8",
    "black": "pip install black",
    "pylint": "pip install pylint",
    "tox": "pip install tox",
    "nox": "pip install nox",
    "pre-commit": "pip install pre-commit",
    "npm": "install Node.js (https://nodejs.org)",
    "npx": "install Node.js (https://nodejs.org)",
    "node": "install Node.js (https://nodejs.org)",
    "cargo": "install Rust (https://rustup.rs)",
    "go": "install Go (https://go.dev/dl)",
    "make": "install make (apt-get install make / xcode-select --install)",
}

# A `run` with any of these outside quotes is handed to /bin/sh; otherwise it is split and
# started directly (so a missing program is named, and no shell sits between us and it).
_SHELL_CHARS = frozenset("|&;<>()$`*?[]{}~!#\n")

_SHELL_WORDS = frozenset({
    "cd", "export", "set", "unset", "test", "[", "exec", "true", "false", "echo", "printf",
    "if", "for", "while", "until", "case", "!", ".", "source", "eval", "command", "{", "(",
    "exit", "return", "trap", "wait", "umask", "ulimit", "read", "shift", "type",
})

# Content-derived mtimes start here (2000-01-01); a blob id's first 7 hex digits add < 9 years.
_MTIME_EPOCH = 946_684_800


def run_checks(
    repo: RepoPaths,
    commit: str,
    checks: Sequence[Check],
    jobs: int,
    ui: Ui,
    logs: str,
    run_id: str,
    expected: Mapping[str, float] | None = None,
) -> dict[str, CheckResult]:
    """Run ``checks`` on ``commit`` in a temporary worktree, ``jobs`` at a time, the longest
    ``expected`` first; the worktree is removed afterwards, also when interrupted (Ctrl-C,
    SIGTERM, SIGHUP)."""
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import wait

    os.makedirs(logs, exist_ok=True)
    runner = _Runner()
    results: dict[str, CheckResult] = {}
    with _signals_interrupt(), _temp_folder(repo) as tmp:
        # Named after its folder, so its entry in .git/worktrees/ is unique per slot.
        tree = tmp / tmp.name
        try:
            _add_worktree(repo, tree, commit)
            _stable_mtimes(repo, commit, tree)
            base_env = check_env(repo, tree)
            pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ossa-judge")
            try:
                known = expected or {}
                order = sorted(checks, key=lambda c: -known.get(c.name, float("inf")))
                futures = {
                    pool.submit(runner.run, c, tree, base_env,
                                os.path.join(logs, f"judge-{run_id}-{c.name}.log"))
                    for c in order
                }
                ui.start([c.name for c in checks], runner.started)
                pending = futures
                while pending:
                    done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    for fut in done:
                        result = fut.result()
                        results[result.name] = result
                        ui.finished(result)
                    ui.refresh()
            finally:
                runner.stop()
                pool.shutdown(wait=True, cancel_futures=True)
                ui.close()
        finally:
            with _signals_ignored():
                _remove_worktree(repo, tree, tmp)
    return results


class _Runner:
    """Runs checks from pool threads; remembers their processes so they can all be killed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.procs: set[subprocess.Popen[bytes]] = set()
        self.stopping = False
        self.started: dict[str, float] = {}

    def run(self, check: Check, tree: Path, base_env: Mapping[str, str], log: str) -> CheckResult:
        env = {**base_env, **check.env}
        argv, shell = command_argv(check.run)
        program = first_program(check.run) if shell else argv[0]
        exe = _which(program, env.get("PATH", ""), tree) if program else None
        if program and exe is None:
            return CheckResult(check.name, MISSING, 0.0, None, missing_note(program))
        if not shell and exe:
            argv = [exe, *argv[1:]]
        start = time.perf_counter()
        with open(log, "wb") as out:
            out.write(f"$ {check.run}\n".encode())
            out.flush()
            with self.lock:
                if self.stopping:
                    return CheckResult(check.name, FAILED, 0.0, log, "interrupted")
                proc = subprocess.Popen(
                    argv, cwd=tree, env=env, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
                self.procs.add(proc)
                self.started[check.name] = time.perf_counter()
            timed_out = False
            try:
                rc = proc.wait(timeout=check.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=KILL_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
                _kill_group(proc, signal.SIGKILL)
                rc = proc.wait()
            finally:
                # Whatever the check left behind (a server its tests started) goes with it:
                # the worktree it runs in is about to be removed.
                _kill_group(proc, signal.SIGKILL)
                with self.lock:
                    self.procs.discard(proc)
        seconds = time.perf_counter() - start
        if timed_out:
            return CheckResult(check.name, TIMEOUT, seconds, log,
                               f"killed after {check.timeout:g} s with its process group")
        if self.stopping:
            return CheckResult(check.name, FAILED, seconds, log, "interrupted")
        return _interpret(check, argv, rc, seconds, log, shell)

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            procs = list(self.procs)
        for proc in procs:
            _kill_group(proc, signal.SIGKILL)


def _interpret(check: Check, argv: Sequence[str], rc: int, seconds: float, log: str,
               shell: bool) -> CheckResult:
    if rc == 0:
        return CheckResult(check.name, PASSED, seconds, log)
    if rc == 5 and "pytest" in check.run:
        return CheckResult(check.name, PASSED, seconds, log, "no tests collected (pytest exit 5)")
    tail = tail_lines(log, 5)
    if shell and rc == 127:
        last = tail[-1] if tail else "command not found"
        return CheckResult(check.name, MISSING, seconds, log, f"{last.strip()} "
                           f"(install it, or fix judge.checks.{check.name}.run)")
    # `python -m ruff` when the module is absent is a missing tool, not a failing project.
    if len(argv) >= 3 and argv[1] == "-m" and any(
        f"No module named {argv[2]}" in line for line in tail
    ):
        return CheckResult(check.name, MISSING, seconds, log, missing_note(argv[2]))
    if rc < 0:
        return CheckResult(check.name, FAILED, seconds, log, f"killed by signal {-rc}")
    return CheckResult(check.name, FAILED, seconds, log, f"exit {rc}")


# --- commands ----------------------------------------------------------------------------------


def command_argv(run: str) -> tuple[list[str], bool]:
    """``run`` as an argv, or as ``sh -c RUN`` when it needs a shell (pipes, ``&&``, ``$VAR``,
    unquoted globs, ``VAR=value cmd``). Returns (argv, uses_shell)."""
    try:
        words = shlex.split(run)
    except ValueError:
        words = []
    if not words or _needs_shell(run) or "=" in words[0]:
        return ["/bin/sh", "-c", run], True
    return words, False


def _needs_shell(run: str) -> bool:
    """True when ``run`` has a character the shell would act on outside quotes."""
    quote: str | None = None
    escaped = False
    for ch in run:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = None
            elif quote == '"' and ch in "$`":
                return True
        elif ch in "'\"":
            quote = ch
        elif ch in _SHELL_CHARS:
            return True
    return False


def first_program(run: str) -> str | None:
    """The program a shell ``run`` starts with, when it is a plain word worth looking up."""
    try:
        words = shlex.split(run)
    except ValueError:
        return None
    for word in words:
        if "=" in word and not word.startswith("="):
            continue  # VAR=value prefix
        if word in _SHELL_WORDS or not all(c.isalnum() or c in "-_./+" for c in word):
            return None
        return word
    return None


def missing_note(tool: str) -> str:
    """One line naming a missing tool and how to get it."""
    hint = INSTALL_HINTS.get(os.path.basename(tool))
    how = f"install it: {hint}" if hint else "install it or put it on PATH"
    return f"{tool} is not installed (not found on PATH); {how}"


def _which(program: str, path: str, cwd: Path) -> str | None:
    import shutil

    if os.sep in program:
        candidate = program if os.path.isabs(program) else str(cwd / program)
        return candidate if os.access(candidate, os.X_OK) and os.path.isfile(candidate) else None
    return shutil.which(program, path=path)


def check_env(repo: RepoPaths, tree: Path) -> dict[str, str]:
    """The checks' environment: no GIT_* variables of the hook (they would point git inside a
    check at the pushing worktree), and the judged tree first on the import path so tests
    import the pushed code even when the project is installed in editable mode.

    Compiled Python files go to a cache in the state folder: with the worktree's stable path
    and content-derived mtimes (``_stable_mtimes``) they stay valid from one judgement to the
    next, so a fresh checkout does not pay for compiling every module again."""
    env = git.no_git_env()
    env.setdefault("PYTHONPYCACHEPREFIX", os.path.join(repo.state_dir_str, "judge-pycache"))
    front = [str(tree)]
    if (tree / "src").is_dir():
        front.append(str(tree / "src"))
    if env.get("PYTHONPATH"):
        front.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(front)
    env["PWD"] = str(tree)
    env["OSSA_JUDGE"] = "1"
    return env


# --- the temporary worktree -----------------------------------------------------------------


def _add_worktree(repo: RepoPaths, tree: Path, commit: str) -> None:
    # No hooks in the throwaway worktree: post-checkout would run ours (or anyone's).
    args = ["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--quiet",
            str(tree), commit]
    for attempt in range(3):
        try:
            git.run(args, git_cwd(repo))
            return
        except git.GitError:
            # `git worktree add` reads every entry of .git/worktrees/, and one that another
            # judge is creating at that moment makes it fail ("failed to read ...commondir").
            if attempt == 2:
                raise
            import shutil

            shutil.rmtree(tree, ignore_errors=True)
            git.run(["worktree", "prune"], git_cwd(repo), check=False)
            time.sleep(0.1 * (attempt + 1))


def _stable_mtimes(repo: RepoPaths, commit: str, tree: Path) -> None:
    """Give each ``.py`` file an mtime derived from its blob id. Python validates a cached
    ``.pyc`` by source mtime and size, so unchanged files keep their compiled form across
    checkouts, and a changed file (new blob, new mtime) is recompiled."""
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", commit], git_cwd(repo)).stdout
    base = os.fsencode(tree)
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if not path.endswith(b".py") or len(parts) != 3 or parts[1] != b"blob":
            continue
        stamp = _MTIME_EPOCH + int(parts[2][:7], 16)
        try:
            os.utime(os.path.join(base, path), (stamp, stamp), follow_symlinks=False)
        except OSError:
            pass


@contextmanager
def _temp_folder(repo: RepoPaths) -> Iterator[Path]:
    """The temporary folder of one judgement, removed by the caller.

    Its path is stable (``$TMPDIR/ossa-judge-REPOKEY-SLOT``, slot 0 unless judges of the same
    repository run at once, each slot held with a lock) so that cached compiled files stay
    valid. A folder left by a judge that was killed is cleared first."""
    import fcntl
    import hashlib
    import shutil
    import tempfile

    locks = os.path.join(repo.state_dir_str, "judge-slots")
    os.makedirs(locks, exist_ok=True)
    key = hashlib.sha256(os.fsencode(repo.common_dir_str)).hexdigest()[:12]
    for slot in range(32):
        fd = os.open(os.path.join(locks, f"{slot}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            folder = Path(tempfile.gettempdir()) / f"ossa-judge-{key}-{slot}"
            if os.path.lexists(folder):
                if folder.is_symlink() or folder.lstat().st_uid != os.getuid():
                    folder = Path(tempfile.mkdtemp(prefix="ossa-judge-"))
                else:
                    shutil.rmtree(folder, ignore_errors=True)
                    git.run(["worktree", "prune"], git_cwd(repo), check=False)
            if not folder.exists():
                try:
                    folder.mkdir(mode=0o700)
                except FileExistsError:
                    folder = Path(tempfile.mkdtemp(prefix="ossa-judge-"))
            yield folder
        finally:
            os.close(fd)  # releases the slot's lock
        return
    yield Path(tempfile.mkdtemp(prefix="ossa-judge-"))


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _remove_worktree(repo: RepoPaths, tree: Path, tmp: Path) -> None:
    import shutil

    cwd = git_cwd(repo)
    removed = git.run(["worktree", "remove", "--force", "--force", str(tree)], cwd,
                      check=False).returncode == 0
    shutil.rmtree(tmp, ignore_errors=True)
    if not removed:
        # Interrupted before or during `worktree add`, or `remove` failed: the folder is gone
        # now, so prune drops its administrative entry.
        git.run(["worktree", "prune"], cwd, check=False)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP interrupt like Ctrl-C, so the ``finally`` blocks clean up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C must not leave the temporary worktree behind half-removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, signal.SIG_IGN) for s in sigs}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
