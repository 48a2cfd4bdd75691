"""Running the judge's checks: the repository's gate worktree checked out detached at the
judged commit (reused from one judgement to the next, so bytecode and tool caches survive), a
thread pool of up to ``judge.jobs`` checks, each in its own process group (killed whole at its
timeout, on Ctrl-C, or when another check failed first), its output in a log file, the
project's environment without git's hook variables. Checks only read: a check that changed
tracked files fails, naming them.
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
from ossa_hooks.judge.checks import CANCELLED
from ossa_hooks.judge.checks import FAILED
from ossa_hooks.judge.checks import MISSING
from ossa_hooks.judge.checks import PASSED
from ossa_hooks.judge.checks import TIMEOUT
from ossa_hooks.judge.checks import CheckResult
from ossa_hooks.judge.ui import tail_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Mapping
    from collections.abc import Sequence

    from ossa_hooks.git import RepoPaths
    from ossa_hooks.judge.checks import Check
    from ossa_hooks.judge.environment import Environment
    from ossa_hooks.judge.ui import Ui

# Checks that took less than this the last time start first (see run_checks).
QUICK_S = 1.0

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



def run_checks(
    repo: RepoPaths,
    commit: str,
    checks: Sequence[Check],
    jobs: int,
    ui: Ui,
    logs: str,
    run_id: str,
    expected: Mapping[str, float] | None = None,
    env: Environment | None = None,
    keep_going: bool = False,
    base: str | None = None,
) -> dict[str, CheckResult]:
    """Run ``checks`` on ``commit`` in the gate worktree, ``jobs`` at a time, the longest
    ``expected`` first; the first failure cancels the rest unless ``keep_going``. The worktree
    stays for the next judgement; a judgement interrupted (Ctrl-C, SIGTERM, SIGHUP) kills its
    checks, and the next one resets the worktree."""
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import wait

    os.makedirs(logs, exist_ok=True)
    runner = _Runner(env)
    results: dict[str, CheckResult] = {}
    from ossa_hooks.judge.worktree import gate_worktree

    with _signals_interrupt(), gate_worktree(repo, commit) as tree:
        base_env = check_env(repo, tree, env)
        if base:
            base_env["OSSA_JUDGE_BASE"] = base  # what the changes are counted from
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ossa-judge")
        try:
            known = expected or {}
            # Checks known to take under QUICK_S first (a failure there cancels the rest at
            # once), then the longest first, so a short check never delays a long one.
            def rank(c: Check) -> tuple[bool, float]:
                took = known.get(c.name, float("inf"))
                return took >= QUICK_S, -took

            order = sorted(checks, key=rank)
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
                    if not result.ok and result.status != CANCELLED and not keep_going \
                            and not runner.stopping:
                        runner.stop(cancel=result.name)
                ui.refresh()
        finally:
            runner.stop()
            pool.shutdown(wait=True, cancel_futures=True)
            ui.close()
        for name, result in _modified_by(repo, tree, checks, runner.windows).items():
            results[name] = result
    for check in checks:  # never started: cancelled before the pool reached them
        if check.name not in results:
            results[check.name] = CheckResult(check.name, CANCELLED, 0.0, None,
                                              runner.cancel_note())
    return results


def _modified_by(repo: RepoPaths, tree: Path, checks: Sequence[Check],
                 windows: Mapping[str, tuple[float, float, str | None]]
                 ) -> dict[str, CheckResult]:
    """Checks that changed tracked files of the worktree, as failed results naming the files.

    A file is blamed on the checks that were running when it was last written (its mtime);
    when none was (or the file is gone), on every check that ran."""
    proc = git.run(["status", "--porcelain", "-z", "--untracked-files=no",
                    "--ignore-submodules"], tree, check=False)
    changed = [item[3:] for item in git.split_z(proc.stdout) if len(item) > 3]
    if not changed:
        return {}
    blamed: dict[str, list[str]] = {}
    for path in changed:
        try:
            mtime = os.stat(tree / path).st_mtime
        except OSError:
            mtime = None
        names = [n for n, (start, end, _) in windows.items()
                 if mtime is not None and start - 1.0 <= mtime <= end + 1.0]
        for name in names or list(windows):
            blamed.setdefault(name, []).append(path)
    out = {}
    for name, paths in blamed.items():
        start, end, log = windows[name]
        shown = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
        others = sorted(n for n, p in blamed.items() if n != name and set(p) & set(paths))
        during = f" (while {', '.join(others)} also ran)" if others else ""
        out[name] = CheckResult(name, FAILED, end - start, log,
                                f"modified tracked files{during}: {shown}; checks must only "
                                f"read (e.g. ruff check --no-fix)")
    return out


class _Runner:
    """Runs checks from pool threads; remembers their processes so they can all be killed."""

    def __init__(self, env: Environment | None = None) -> None:
        self.env = env
        self.lock = threading.Lock()
        self.procs: set[subprocess.Popen[bytes]] = set()
        self.stopping = False
        self.cancelled_by: str | None = None
        self.started: dict[str, float] = {}
        # name -> (wall-clock start, wall-clock end, log): what ran when, for _modified_by
        self.windows: dict[str, tuple[float, float, str | None]] = {}

    def cancel_note(self) -> str:
        if self.cancelled_by:
            return f"cancelled: {self.cancelled_by} failed first (--keep-going runs every check)"
        return "interrupted"

    def resolve(self, check: Check, env: Mapping[str, str], tree: Path
                ) -> tuple[list[str], bool, str | None, str | None]:
        """(argv, uses_shell, program, executable): ``ossa-hooks`` is this installation,
        ``python`` the project's interpreter, anything else looked up on the checks' PATH."""
        import sys

        argv, shell = command_argv(check.run)
        program = first_program(check.run) if shell else argv[0]
        if program == "ossa-hooks" and not shell:
            return [sys.executable, "-m", "ossa_hooks", *argv[1:]], False, program, sys.executable
        exe = None
        if program:
            if self.env is not None and os.sep not in program:
                exe = self.env.which(program)
            else:
                exe = _which(program, env.get("PATH", ""), tree)
        if not shell and exe:
            argv = [exe, *argv[1:]]
        return argv, shell, program, exe

    def run(self, check: Check, tree: Path, base_env: Mapping[str, str], log: str) -> CheckResult:
        env = {**base_env, **check.env}
        if self.stopping:
            return CheckResult(check.name, CANCELLED, 0.0, None, self.cancel_note())
        argv, shell, program, exe = self.resolve(check, env, tree)
        if program and exe is None:
            return CheckResult(check.name, MISSING, 0.0, None, missing_note(program))
        start = time.perf_counter()
        wall_start = time.time()
        with open(log, "wb") as out:
            out.write(f"$ {check.run}\n".encode())
            out.flush()
            with self.lock:
                if self.stopping:
                    return CheckResult(check.name, CANCELLED, 0.0, log, self.cancel_note())
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
                # Whatever the check left behind (a server its tests started) goes with it.
                _kill_group(proc, signal.SIGKILL)
                with self.lock:
                    self.procs.discard(proc)
                    self.windows[check.name] = (wall_start, time.time(), log)
        seconds = time.perf_counter() - start
        if timed_out:
            return CheckResult(check.name, TIMEOUT, seconds, log,
                               f"killed after {check.timeout:g} s with its process group")
        if self.stopping and rc != 0:  # killed when another check failed: not its failure
            return CheckResult(check.name, CANCELLED, seconds, log, self.cancel_note())
        return _interpret(check, argv, rc, seconds, log, shell)

    def stop(self, cancel: str | None = None) -> None:
        with self.lock:
            if not self.stopping:
                self.cancelled_by = cancel
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
    if rc == 127:
        last = tail[-1] if tail else "command not found"
        return CheckResult(check.name, MISSING, seconds, log, f"{last.strip()} "
                           f"(install it, or fix judge.checks.{check.name}.run)")
    # `python -m ruff` when the module is absent is a missing tool, not a failing project.
    if len(argv) >= 3 and argv[1] == "-m" and any(
        f"No module named {argv[2]}" in line for line in tail
    ):
        hint = INSTALL_HINTS.get(argv[2], f"pip install {argv[2]}").removeprefix("pip ")
        return CheckResult(check.name, MISSING, seconds, log,
                           f"{argv[2]} is not installed for {argv[0]} (the project's "
                           f"interpreter); install it: {argv[0]} -m pip {hint}")
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


def check_env(repo: RepoPaths, tree: Path, environment: Environment | None = None
              ) -> dict[str, str]:
    """The checks' environment: the project's (``environment``: its PATH and VIRTUAL_ENV), no
    GIT_* variables of the hook (they would point git inside a check at the pushing worktree),
    and the judged tree first on the import path so tests import the pushed code even when the
    project is installed in editable mode.

    Compiled Python files go to a cache in the state folder: with the worktree's stable path
    and content-derived mtimes (``judge.worktree``) they stay valid from one judgement to the
    next, so a fresh checkout does not pay for compiling every module again."""
    env = git.no_git_env()
    if environment is not None:
        env = environment.apply(env)
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


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


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
def signals_ignored() -> Iterator[None]:
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
