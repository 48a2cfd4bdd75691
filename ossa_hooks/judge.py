"""The push gate: the configured checks of a commit's tree, run in parallel in a temporary
detached worktree, cached by tree and check configuration, reported as a table, a JSON file
and an audit event.

What is judged is always a commit (the pushed tip, or ``--rev``), never the working tree:
uncommitted work has no say in the verdict.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import TextIO

from ossa_hooks import git
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.hook_context import HookContext
from ossa_hooks.hook_context import PushedRef

PASSED = "passed"
FAILED = "failed"
TIMEOUT = "timeout"
MISSING = "missing"
SKIPPED = "skipped"

PREFIX = "ossa-judge"
TAIL_LINES = 20
KEEP_LOGS = 200
KEEP_REPORTS = 100
KEEP_CACHE = 1000
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

# A `run` with any of these is handed to /bin/sh; otherwise it is split and run directly.
_SHELL_CHARS = frozenset("|&;<>()$`*?[]{}~!#\n")


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check on one tree."""

    name: str
    status: str  # passed | failed | timeout | missing | skipped
    seconds: float
    log: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (PASSED, SKIPPED)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 3),
                "log": self.log, "note": self.note}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer for one tree. ``cached``: no check ran, the verdict came from the
    cache. ``commit`` and ``seconds`` (wall time of this judgement) are for reports."""

    passed: bool
    tree: str
    cached: bool
    results: tuple[CheckResult, ...]
    commit: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "commit": self.commit,
            "tree": self.tree,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
            "checks": [r.as_json() for r in self.results],
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One configured check (``judge.checks.NAME``)."""

    name: str
    run: str
    timeout: float | None
    env: Mapping[str, str] = field(default_factory=dict)
    paths: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The cache key part: what can change the outcome on a given tree (not ``paths``,
        which only decides whether the check runs)."""
        blob = json.dumps(
            {"name": self.name, "run": self.run, "env": dict(self.env), "timeout": self.timeout},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def configured_checks(config: Config, names: Sequence[str] | None = None) -> list[Check]:
    """The checks to run: the enabled ones, or exactly ``names`` (even disabled ones)."""
    table: Mapping[str, Mapping[str, Any]] = config.get("judge.checks")
    if names:
        unknown = [n for n in names if n not in table]
        if unknown:
            known = ", ".join(table) or "none"
            raise OssaError(f"unknown check '{unknown[0]}' (configured: {known}; "
                            f"see judge.checks in .ossa-hooks.yaml)")
        chosen = [n for n in table if n in set(names)]
    else:
        chosen = [n for n, spec in table.items() if spec.get("enabled", True)]
    checks = []
    for name in chosen:
        spec = table[name]
        timeout = spec.get("timeout")
        checks.append(Check(
            name=name,
            run=str(spec["run"]),
            timeout=float(timeout) if timeout else None,
            env={str(k): str(v) for k, v in (spec.get("env") or {}).items()},
            paths=tuple(spec.get("paths") or ()),
        ))
    return checks


# --- the gate ------------------------------------------------------------------------------


def judge(
    repo: RepoPaths,
    config: Config,
    rev: str = "HEAD",
    checks: Sequence[str] | None = None,
    use_cache: bool = True,
    quiet: bool = False,
    *,
    changed: Collection[str] | None = None,
    label: str | None = None,
    stream: TextIO | None = None,
) -> Verdict:
    """Run the checks on ``rev``'s tree and return the verdict.

    ``changed``: the paths the push touches (checks with ``paths`` run only when one of them
    matches); None means "everything", so every selected check runs. ``label`` names what is
    judged in the output (e.g. the pushed ref). Output goes to ``stream`` (stderr by default)
    unless ``quiet``.
    """
    start = time.perf_counter()
    commit, tree = resolve(repo, rev)
    return _judge(repo, config, rev, commit, tree, checks, use_cache, quiet, changed, label,
                  stream, start)


def _judge(
    repo: RepoPaths,
    config: Config,
    rev: str,
    commit: str,
    tree: str,
    checks: Sequence[str] | None,
    use_cache: bool,
    quiet: bool,
    changed: Collection[str] | None,
    label: str | None,
    stream: TextIO | None,
    start: float,
) -> Verdict:
    selected = configured_checks(config, checks)
    use_cache = use_cache and bool(config.get("judge.cache"))
    ui = _Ui(stream or sys.stderr, quiet)
    cache = _Cache(repo, tree)
    results: dict[str, CheckResult] = {}
    to_run: list[Check] = []
    from_cache: list[str] = []
    for check in selected:
        if changed is not None and check.paths and not touches(changed, check.paths):
            results[check.name] = CheckResult(
                check.name, SKIPPED, 0.0, None, f"not touched: {', '.join(check.paths)}")
            continue
        hit = cache.get(check) if use_cache else None
        if hit is not None:
            results[check.name] = hit
            from_cache.append(check.name)
        else:
            to_run.append(check)

    what = f"{commit[:10]}" + (f" ({label})" if label else "")
    if to_run:
        jobs = int(config.get("judge.jobs")) or os.cpu_count() or 1
        jobs = max(1, min(jobs, len(to_run)))
        logs, _ = workspace_dirs(repo)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        ui.line(f"{PREFIX}: judging {what} in a clean worktree: "
                f"{', '.join(c.name for c in to_run)} ({jobs} job{'s' if jobs > 1 else ''})")
        results.update(_run_checks(repo, commit, to_run, jobs, ui, logs, f"{stamp}-{tree[:8]}"))
        _prune(logs, "judge-*.log", KEEP_LOGS)

    ordered = tuple(results[c.name] for c in selected)
    verdict = Verdict(
        passed=all(r.ok for r in ordered),
        tree=tree,
        cached=not to_run and bool(from_cache),
        results=ordered,
        commit=commit,
        seconds=time.perf_counter() - start,
    )
    if to_run:
        # A run of some checks only (--check) updates their entries, not the tree's verdict.
        cache.store([(c, results[c.name]) for c in to_run], verdict if checks is None else None)
    report = _write_report(repo, verdict, rev, label)
    _audit(repo, verdict, rev, label, report)
    if not quiet:
        _print_verdict(ui, verdict, what, repo, from_cache)
    return verdict


def last_verdict(repo: RepoPaths, rev: str) -> Verdict | None:
    """The newest recorded verdict of ``rev``'s tree (passing or not), or None.

    The configuration it was reached with may have changed since; ``judge`` trusts only
    passing results of the same check configuration.
    """
    _, tree = resolve(repo, rev)
    last = _Cache(repo, tree).load().get("last")
    if not isinstance(last, dict):
        return None
    try:
        results = tuple(
            CheckResult(str(r["name"]), str(r["status"]), float(r["seconds"]), r.get("log"),
                        str(r.get("note", "")))
            for r in last["checks"]
        )
        return Verdict(bool(last["passed"]), tree, True, results, str(last.get("commit", "")),
                       float(last.get("seconds", 0.0)))
    except (KeyError, TypeError, ValueError):
        return None


def resolve(repo: RepoPaths, rev: str) -> tuple[str, str]:
    """``rev``'s commit and tree ids (one git call)."""
    proc = git.run(["cat-file", "--batch-check"], _git_cwd(repo),
                   input=f"{rev}^{{commit}}\n{rev}^{{tree}}\n".encode())
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    ids = [ln.split()[0] for ln in lines if len(ln.split()) == 3]
    if len(ids) != 2:
        raise OssaError(f"'{rev}' is not a commit in this repository (try --rev HEAD)")
    return ids[0], ids[1]


def touches(changed: Collection[str], patterns: Sequence[str]) -> bool:
    """True when a changed path falls under a pattern (a folder prefix, a path, or a glob)."""
    for pattern in patterns:
        stem = pattern.rstrip("/")
        for path in changed:
            if path == stem or path.startswith(stem + "/") or fnmatch.fnmatchcase(path, pattern):
                return True
    return False


def workspace_dirs(repo: RepoPaths) -> tuple[Path, Path]:
    """Where logs and JSON reports go: the agent worktree's ``.agents-workspace/`` when there
    is one, else the repository's state folder in the git common dir."""
    if repo.toplevel is not None and (repo.toplevel / ".agents-workspace").is_dir():
        ws = repo.toplevel / ".agents-workspace"
        return ws / "logs", ws / "metrics"
    return repo.state_dir / "judge-logs", repo.state_dir / "judge-reports"


def _git_cwd(repo: RepoPaths) -> Path:
    return repo.toplevel if repo.toplevel is not None else repo.git_dir


# --- running the checks --------------------------------------------------------------------


def _run_checks(
    repo: RepoPaths,
    commit: str,
    checks: Sequence[Check],
    jobs: int,
    ui: _Ui,
    logs: Path,
    run_id: str,
) -> dict[str, CheckResult]:
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import wait

    logs.mkdir(parents=True, exist_ok=True)
    runner = _Runner()
    results: dict[str, CheckResult] = {}
    with _signals_interrupt(), _temp_folder(repo) as tmp:
        tree = tmp / "tree"
        try:
            # No hooks in the throwaway worktree: post-checkout would run ours (or anyone's).
            git.run(["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--quiet",
                     str(tree), commit], _git_cwd(repo))
            _stable_mtimes(repo, commit, tree)
            base_env = _check_env(repo, tree)
            pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ossa-judge")
            try:
                futures = {
                    pool.submit(runner.run, c, tree, base_env,
                                logs / f"judge-{run_id}-{c.name}.log")
                    for c in checks
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

    def run(self, check: Check, tree: Path, base_env: Mapping[str, str], log: Path) -> CheckResult:
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
                    return CheckResult(check.name, FAILED, 0.0, str(log), "interrupted")
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
            return CheckResult(check.name, TIMEOUT, seconds, str(log),
                               f"killed after {check.timeout:g} s with its process group")
        if self.stopping:
            return CheckResult(check.name, FAILED, seconds, str(log), "interrupted")
        return _interpret(check, argv, rc, seconds, log, shell)

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            procs = list(self.procs)
        for proc in procs:
            _kill_group(proc, signal.SIGKILL)


def _interpret(check: Check, argv: Sequence[str], rc: int, seconds: float, log: Path,
               shell: bool) -> CheckResult:
    if rc == 0:
        return CheckResult(check.name, PASSED, seconds, str(log))
    if rc == 5 and "pytest" in check.run:
        return CheckResult(check.name, PASSED, seconds, str(log),
                           "no tests collected (pytest exit 5)")
    tail = _tail(log, 5)
    if shell and rc == 127:
        last = tail[-1] if tail else "command not found"
        return CheckResult(check.name, MISSING, seconds, str(log), f"{last.strip()} "
                           f"(install it, or fix judge.checks.{check.name}.run)")
    # `python -m ruff` when the module is absent is a missing tool, not a failing project.
    if len(argv) >= 3 and argv[1] == "-m" and any(
        f"No module named {argv[2]}" in line for line in tail
    ):
        return CheckResult(check.name, MISSING, seconds, str(log), missing_note(argv[2]))
    if rc < 0:
        return CheckResult(check.name, FAILED, seconds, str(log),
                           f"killed by signal {-rc}")
    return CheckResult(check.name, FAILED, seconds, str(log), f"exit {rc}")


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


_SHELL_WORDS = frozenset({
    "cd", "export", "set", "unset", "test", "[", "exec", "true", "false", "echo", "printf",
    "if", "for", "while", "until", "case", "!", ".", "source", "eval", "command", "{", "(",
    "exit", "return", "trap", "wait", "umask", "ulimit", "read", "shift", "type",
})


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
    hint = INSTALL_HINTS.get(os.path.basename(tool))
    how = f"install it: {hint}" if hint else "install it or put it on PATH"
    return f"{tool} is not installed (not found on PATH); {how}"


def _which(program: str, path: str, cwd: Path) -> str | None:
    import shutil

    if os.sep in program:
        candidate = program if os.path.isabs(program) else str(cwd / program)
        return candidate if os.access(candidate, os.X_OK) and os.path.isfile(candidate) else None
    return shutil.which(program, path=path)


def _check_env(repo: RepoPaths, tree: Path) -> dict[str, str]:
    """The checks' environment: no GIT_* variables of the hook (they would point git inside a
    check at the pushing worktree), and the judged tree first on the import path so tests
    import the pushed code even when the project is installed in editable mode.

    Compiled Python files go to a cache in the state folder: with the worktree's stable path
    and content-derived mtimes (``_stable_mtimes``) they stay valid from one judgement to the
    next, so a fresh checkout does not pay for compiling every module again."""
    env = git.no_git_env()
    env.setdefault("PYTHONPYCACHEPREFIX", str(repo.state_dir / "judge-pycache"))
    front = [str(tree)]
    if (tree / "src").is_dir():
        front.append(str(tree / "src"))
    if env.get("PYTHONPATH"):
        front.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(front)
    env["PWD"] = str(tree)
    env["OSSA_JUDGE"] = "1"
    return env


# Content-derived mtimes start here (2000-01-01); a blob id's first 7 hex digits add < 9 years.
_MTIME_EPOCH = 946_684_800


def _stable_mtimes(repo: RepoPaths, commit: str, tree: Path) -> None:
    """Give each ``.py`` file an mtime derived from its blob id. Python validates a cached
    ``.pyc`` by source mtime and size, so unchanged files keep their compiled form across
    checkouts, and a changed file (new blob, new mtime) is recompiled."""
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", commit], _git_cwd(repo)).stdout
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
    import shutil
    import tempfile

    locks = repo.state_dir / "judge-slots"
    locks.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(os.fsencode(repo.common_dir)).hexdigest()[:12]
    for slot in range(32):
        fd = os.open(locks / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            folder = Path(tempfile.gettempdir()) / f"ossa-judge-{key}-{slot}"
            if os.path.lexists(folder):
                st = folder.lstat()
                if folder.is_symlink() or st.st_uid != os.getuid():
                    folder = Path(tempfile.mkdtemp(prefix="ossa-judge-"))
                else:
                    shutil.rmtree(folder, ignore_errors=True)
                    git.run(["worktree", "prune"], _git_cwd(repo), check=False)
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

    cwd = _git_cwd(repo)
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


# --- cache -----------------------------------------------------------------------------------


class _Cache:
    """One JSON file per judged tree: passing results by check key, and the last verdict."""

    def __init__(self, repo: RepoPaths, tree: str) -> None:
        self.folder = repo.state_dir / "judge-cache"
        self.path = self.folder / f"{tree}.json"
        self._data: dict[str, Any] | None = None

    def load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def get(self, check: Check) -> CheckResult | None:
        entry = self.load().get("checks", {}).get(check.key)
        if not isinstance(entry, dict) or entry.get("status") != PASSED:
            return None
        note = f"cached: passed on this tree {entry.get('time', '')}".rstrip()
        if entry.get("note"):
            note += f"; {entry['note']}"
        return CheckResult(check.name, PASSED, float(entry.get("seconds", 0.0)),
                           entry.get("log"), note)

    def store(self, ran: Sequence[tuple[Check, CheckResult]], verdict: Verdict | None) -> None:
        data = dict(self.load())
        entries = dict(data.get("checks", {}))
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        for check, result in ran:
            if result.status == PASSED:  # only passing results are ever trusted again
                entries[check.key] = {"name": check.name, "status": PASSED,
                                      "seconds": round(result.seconds, 3), "log": result.log,
                                      "note": result.note, "time": now}
            else:
                entries.pop(check.key, None)
        data["checks"] = entries
        if verdict is not None:
            data["last"] = {**verdict.as_json(), "time": now}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))
        except OSError:
            return  # a cache that cannot be written only costs a rerun
        self._data = data
        _prune(self.folder, "*.json", KEEP_CACHE)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _prune(folder: Path, pattern: str, keep: int) -> None:
    """Keep the newest ``keep`` files matching ``pattern`` (logs, reports, cache entries)."""
    try:
        files = list(folder.glob(pattern))
        if len(files) <= keep:
            return
        files.sort(key=lambda p: p.stat().st_mtime)
        for old in files[:-keep]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


# --- reports ---------------------------------------------------------------------------------


def _write_report(repo: RepoPaths, verdict: Verdict, rev: str, label: str | None) -> Path | None:
    _, metrics = workspace_dirs(repo)
    now = time.time()
    report = {
        "version": 1,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)),
        "rev": rev,
        "label": label,
        **verdict.as_json(),
    }
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    path = metrics / f"judge-{stamp}-{int(now * 1000) % 1000:03d}-{verdict.tree[:8]}.json"
    try:
        metrics.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, json.dumps(report, indent=2))
    except OSError:
        return None
    _prune(metrics, "judge-*.json", KEEP_REPORTS)
    return path


def _audit(repo: RepoPaths, verdict: Verdict, rev: str, label: str | None,
           report: Path | None) -> None:
    from ossa_hooks import audit

    audit.record(
        repo, "judge", label or rev, 0 if verdict.passed else 1, verdict.seconds,
        {"commit": verdict.commit, "tree": verdict.tree, "cached": verdict.cached,
         "checks": {r.name: r.status for r in verdict.results},
         "report": str(report) if report else None},
    )


# --- output ----------------------------------------------------------------------------------


class _Ui:
    """Status lines while checks run: redrawn in place on a terminal, one line per finished
    check otherwise. Only the main thread writes."""

    SPIN = "|/-\\"

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        isatty = getattr(stream, "isatty", None)
        self.live = (not quiet and callable(isatty) and bool(isatty())
                     and os.environ.get("TERM") != "dumb")
        self.color = self.live and "NO_COLOR" not in os.environ
        self.names: list[str] = []
        self.done: dict[str, CheckResult] = {}
        self.started: Mapping[str, float] = {}
        self.width = 0
        self.drawn = 0
        self.tick = 0

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def paint(self, text: str, status: str) -> str:
        if not self.color:
            return text
        code = {PASSED: "32", SKIPPED: "2", FAILED: "31", TIMEOUT: "31", MISSING: "33"}.get(status)
        return f"\x1b[{code}m{text}\x1b[0m" if code else text

    def start(self, names: Sequence[str], started: Mapping[str, float]) -> None:
        self.names = list(names)
        self.started = started
        self.width = max(len(n) for n in names)
        self.refresh()

    def finished(self, result: CheckResult) -> None:
        self.done[result.name] = result
        if not self.live and not self.quiet:
            self.line(f"{PREFIX}: {self.status_text(result.name)}")

    def status_text(self, name: str) -> str:
        r = self.done.get(name)
        label = name.ljust(self.width)
        if r is None:
            since = self.started.get(name)
            if since is None:
                return f"{label}  waiting"
            spin = self.SPIN[self.tick % len(self.SPIN)]
            return f"{label}  {spin} running {time.perf_counter() - since:.1f} s"
        word = {PASSED: "passed", FAILED: "failed", TIMEOUT: "timed out", MISSING: "missing",
                SKIPPED: "skipped"}[r.status]
        text = f"{label}  {self.paint(word, r.status)} in {r.seconds:.1f} s"
        return f"{text} ({r.note})" if r.note and r.status not in (FAILED, MISSING) else text

    def refresh(self) -> None:
        if not self.live:
            return
        self.tick += 1
        out = []
        if self.drawn:
            out.append(f"\x1b[{self.drawn}F")
        for name in self.names:
            out.append(f"\x1b[2K  {self.status_text(name)}\n")
        self.stream.write("".join(out))
        self.stream.flush()
        self.drawn = len(self.names)

    def close(self) -> None:
        self.refresh()


def _print_verdict(ui: _Ui, verdict: Verdict, what: str, repo: RepoPaths,
                   from_cache: Sequence[str]) -> None:
    if verdict.cached and verdict.passed:
        ui.line(f"{PREFIX}: {what} passed (cached verdict of tree {verdict.tree[:10]}: "
                f"{', '.join(from_cache)})")
        return
    if not verdict.results:
        ui.line(f"{PREFIX}: {what}: no checks enabled (judge.checks in .ossa-hooks.yaml)")
        return
    width = max(5, *(len(r.name) for r in verdict.results))
    rows = [f"{'check'.ljust(width)}  {'result':<9} {'seconds':>8}  note"]
    for r in verdict.results:
        word = "timed out" if r.status == TIMEOUT else r.status
        rows.append(f"{r.name.ljust(width)}  {ui.paint(word.ljust(9), r.status)} "
                    f"{r.seconds:8.2f}  {r.note}".rstrip())
    ui.line("\n".join(rows))
    for r in verdict.failed:
        if r.log and r.status != MISSING:
            tail = _tail(Path(r.log), TAIL_LINES)
            ui.line(f"--- {r.name}: last {len(tail)} lines of {r.log}")
            ui.line("\n".join(line.rstrip("\n") for line in tail))
            ui.line("---")
    if verdict.passed:
        n = len(verdict.results)
        ui.line(f"{PREFIX}: {what} passed ({n} check{'s' if n > 1 else ''}, "
                f"{verdict.seconds:.1f} s)")
        return
    names = [r.name for r in verdict.failed]
    rerun = "ossa-hooks judge"
    if not _is_head(repo, verdict.commit):
        rerun += f" --rev {verdict.commit[:10]}"
    for r in verdict.failed:
        if r.status == MISSING:
            ui.line(f"{PREFIX}: {r.name}: {r.note}")
    ui.line(f"{PREFIX}: {what} FAILED: {', '.join(names)}; rerun alone: "
            + "; ".join(f"{rerun} --check {n}" for n in names))


def _is_head(repo: RepoPaths, commit: str) -> bool:
    proc = git.run(["rev-parse", "-q", "--verify", "HEAD^{commit}"], _git_cwd(repo), check=False)
    return proc.stdout.decode().strip() == commit


def _tail(path: Path, n: int) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-n:]


# --- the pre-push action -----------------------------------------------------------------------


@dataclass(slots=True)
class _Target:
    commit: str
    tree: str
    refs: list[str]
    changed: set[str] | None  # None: judge as if everything changed


def hook(ctx: HookContext) -> int:
    """``ossa-judge`` (pre-push): judge the tip of every pushed ref; refuse on any failure."""
    refs = ctx.pushed_refs
    remote = ctx.args[0] if ctx.args else ""
    need_changes = any(c.paths for c in configured_checks(ctx.config))
    targets = plan_push(ctx.repo, refs, remote, need_changes)
    code = 0
    for target in targets:
        verdict = _judge(ctx.repo, ctx.config, target.commit, target.commit, target.tree, None,
                         True, False, target.changed, ", ".join(target.refs), None,
                         time.perf_counter())
        if not verdict.passed:
            code = 1
    if code:
        print(f"{PREFIX}: push refused", file=sys.stderr)
    return code


def plan_push(repo: RepoPaths, refs: Sequence[PushedRef], remote: str,
              need_changes: bool) -> list[_Target]:
    """One target per distinct tree among the pushed tips (deletions judge nothing)."""
    live = [r for r in refs if not r.is_delete]
    if not live:
        return []
    query = "".join(f"{r.local_sha}^{{commit}}\n{r.local_sha}^{{tree}}\n" for r in live)
    proc = git.run(["cat-file", "--batch-check"], _git_cwd(repo), input=query.encode())
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    targets: dict[str, _Target] = {}
    for i, ref in enumerate(live):
        commit_line, tree_line = lines[2 * i].split(), lines[2 * i + 1].split()
        if len(commit_line) != 3 or len(tree_line) != 3:
            print(f"{PREFIX}: {ref.local_ref} is not a commit: nothing to judge", file=sys.stderr)
            continue
        commit, tree = commit_line[0], tree_line[0]
        changed = _changed_paths(repo, ref, commit, remote) if need_changes else None
        target = targets.get(tree)
        if target is None:
            targets[tree] = _Target(commit, tree, [ref.remote_ref], changed)
        else:
            target.refs.append(ref.remote_ref)
            if target.changed is not None:
                target.changed = None if changed is None else target.changed | changed
    return list(targets.values())


def _changed_paths(repo: RepoPaths, ref: PushedRef, commit: str, remote: str) -> set[str] | None:
    """Paths the push of ``ref`` changes: against what the remote has, or for a new branch
    against its merge-base with the remote's default branch; None when there is no base."""
    cwd = _git_cwd(repo)
    base: str | None = None
    if set(ref.remote_sha) != {"0"} and git.ok(["cat-file", "-e", f"{ref.remote_sha}^{{commit}}"],
                                               cwd):
        base = ref.remote_sha
    elif remote and "/" not in remote and ":" not in remote:
        head = git.run(["symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD"], cwd, check=False)
        if head.returncode == 0:
            mb = git.run(["merge-base", head.stdout.decode().strip(), commit], cwd, check=False)
            if mb.returncode == 0:
                base = mb.stdout.decode().strip()
    if base is None:
        return None
    proc = git.run(["diff-tree", "-r", "-z", "--name-only", "--no-renames", base, commit], cwd)
    return set(git.split_z(proc.stdout))
