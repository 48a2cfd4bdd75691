"""The push gate: the configured checks of a commit's tree, cached by tree and check
configuration, reported as a table, a JSON file and an audit event. Running the checks (a
temporary worktree, a thread pool, process groups) is ``judge_runner``'s job.

What is judged is always a commit (the pushed tip, or ``--rev``), never the working tree:
uncommitted work has no say in the verdict.

This module is on the pre-push hook's path, where a cached verdict must cost little: plain
slotted classes instead of dataclasses, string paths instead of pathlib, and everything that
only running checks needs is imported by ``judge_runner`` when checks run.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks import git
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from collections.abc import Mapping
    from collections.abc import Sequence
    from typing import Any
    from typing import ClassVar
    from typing import TextIO

    from ossa_hooks.config import Config
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


# --- values --------------------------------------------------------------------------------


class _Frozen:
    """An immutable record with value equality: what ``@dataclass(frozen=True, slots=True)``
    gives, without importing ``dataclasses`` (and ``inspect``) on the hook's path."""

    __slots__: tuple[str, ...] = ()
    _fields: ClassVar[tuple[str, ...]] = ()  # in the order of the constructor's arguments

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Frozen) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


class CheckResult(_Frozen):
    """The outcome of one check on one tree. ``status``: passed | failed | timeout | missing |
    skipped; ``log``: the file holding its output; ``note``: a short explanation."""

    __slots__ = ("log", "name", "note", "seconds", "status")
    _fields = ("name", "status", "seconds", "log", "note")

    name: str
    status: str
    seconds: float
    log: str | None
    note: str

    def __init__(self, name: str, status: str, seconds: float, log: str | None = None,
                 note: str = "") -> None:
        self._set(name=name, status=status, seconds=seconds, log=log, note=note)

    @property
    def ok(self) -> bool:
        return self.status in (PASSED, SKIPPED)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 3),
                "log": self.log, "note": self.note}


class Verdict(_Frozen):
    """The gate's answer for one tree. ``cached``: no check ran, the verdict came from the
    cache. ``commit`` and ``seconds`` (wall time of this judgement) are for reports."""

    __slots__ = ("cached", "commit", "passed", "results", "seconds", "tree")
    _fields = ("passed", "tree", "cached", "results", "commit", "seconds")

    passed: bool
    tree: str
    cached: bool
    results: tuple[CheckResult, ...]
    commit: str
    seconds: float

    def __init__(self, passed: bool, tree: str, cached: bool, results: tuple[CheckResult, ...],
                 commit: str = "", seconds: float = 0.0) -> None:
        self._set(passed=passed, tree=tree, cached=cached, results=tuple(results),
                  commit=commit, seconds=seconds)

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


class Check(_Frozen):
    """One configured check (``judge.checks.NAME``)."""

    __slots__ = ("env", "name", "paths", "run", "timeout")
    _fields = ("name", "run", "timeout", "env", "paths")

    name: str
    run: str
    timeout: float | None
    env: Mapping[str, str]
    paths: tuple[str, ...]

    def __init__(self, name: str, run: str, timeout: float | None,
                 env: Mapping[str, str] | None = None, paths: Sequence[str] = ()) -> None:
        self._set(name=name, run=run, timeout=timeout, env=dict(env or {}), paths=tuple(paths))

    def __hash__(self) -> int:
        return hash((self.name, self.run, self.timeout, tuple(sorted(self.env.items())),
                     self.paths))

    @property
    def key(self) -> str:
        """The cache key part: what can change the outcome on a given tree (not ``paths``,
        which only decides whether the check runs)."""
        import hashlib
        import json

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
    ui = Ui(stream or sys.stderr, quiet)
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
        from ossa_hooks.judge.runner import run_checks

        jobs = int(config.get("judge.jobs")) or os.cpu_count() or 1
        jobs = max(1, min(jobs, len(to_run)))
        logs, _ = workspace_dirs(repo)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        ui.line(f"{PREFIX}: judging {what} in a clean worktree: "
                f"{', '.join(c.name for c in to_run)} ({jobs} job{'s' if jobs > 1 else ''})")
        results.update(run_checks(repo, commit, to_run, jobs, ui, logs, f"{stamp}-{tree[:8]}",
                                  expected=_expected_seconds(repo, cache)))
        _prune(logs, "judge-", ".log", KEEP_LOGS)

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


def _expected_seconds(repo: RepoPaths, cache: _Cache) -> dict[str, float]:
    """How long each check took the last time this tree (else the last judged tree) was judged:
    the runner starts the longest first, so a short check never delays a long one."""
    last = cache.load().get("last")
    if not isinstance(last, dict):
        try:
            with open(os.path.join(repo.state_dir_str, "judge-last.json"), encoding="utf-8") as f:
                import json

                last = json.load(f)
        except (OSError, ValueError):
            return {}
    try:
        return {str(r["name"]): float(r["seconds"]) for r in last["checks"]}
    except (KeyError, TypeError, ValueError):
        return {}


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
    proc = git.run(["cat-file", "--batch-check"], git_cwd(repo),
                   input=f"{rev}^{{commit}}\n{rev}^{{tree}}\n".encode())
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    ids = [ln.split()[0] for ln in lines if len(ln.split()) == 3]
    if len(ids) != 2:
        raise OssaError(f"'{rev}' is not a commit in this repository (try --rev HEAD)")
    return ids[0], ids[1]


def touches(changed: Collection[str], patterns: Sequence[str]) -> bool:
    """True when a changed path falls under a pattern (a folder prefix, a path, or a glob)."""
    from fnmatch import fnmatchcase

    for pattern in patterns:
        stem = pattern.rstrip("/")
        for path in changed:
            if path == stem or path.startswith(stem + "/") or fnmatchcase(path, pattern):
                return True
    return False


def workspace_dirs(repo: RepoPaths) -> tuple[str, str]:
    """Where logs and JSON reports go: the agent worktree's ``.agents-workspace/`` when there
    is one, else the repository's state folder in the git common dir."""
    if repo.toplevel_str is not None:
        ws = os.path.join(repo.toplevel_str, ".agents-workspace")
        if os.path.isdir(ws):
            return os.path.join(ws, "logs"), os.path.join(ws, "metrics")
    state = repo.state_dir_str
    return os.path.join(state, "judge-logs"), os.path.join(state, "judge-reports")


def git_cwd(repo: RepoPaths) -> str:
    """Where to run git for this repository (its worktree, or the git dir when bare)."""
    return repo.toplevel_str if repo.toplevel_str is not None else repo.git_dir_str


# --- cache -----------------------------------------------------------------------------------


class _Cache:
    """One JSON file per judged tree: passing results by check key, and the last verdict."""

    def __init__(self, repo: RepoPaths, tree: str) -> None:
        self.folder = os.path.join(repo.state_dir_str, "judge-cache")
        self.path = os.path.join(self.folder, f"{tree}.json")
        self._data: dict[str, Any] | None = None

    def load(self) -> dict[str, Any]:
        if self._data is None:
            data: Any = {}
            if os.path.exists(self.path):
                import json

                try:
                    with open(self.path, encoding="utf-8") as f:
                        data = json.load(f)
                except (OSError, ValueError):
                    data = {}
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def get(self, check: Check) -> CheckResult | None:
        entries = self.load().get("checks")
        if not entries:
            return None
        entry = entries.get(check.key)
        if not isinstance(entry, dict) or entry.get("status") != PASSED:
            return None
        note = f"cached: passed on this tree {entry.get('time', '')}".rstrip()
        if entry.get("note"):
            note += f"; {entry['note']}"
        return CheckResult(check.name, PASSED, float(entry.get("seconds", 0.0)),
                           entry.get("log"), note)

    def store(self, ran: Sequence[tuple[Check, CheckResult]], verdict: Verdict | None) -> None:
        import json

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
                os.makedirs(os.path.dirname(self.folder), exist_ok=True)
                _write_atomic(os.path.join(os.path.dirname(self.folder), "judge-last.json"),
                              json.dumps(data["last"]))
            except OSError:
                pass
        try:
            os.makedirs(self.folder, exist_ok=True)
            _write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))
        except OSError:
            return  # a cache that cannot be written only costs a rerun
        self._data = data
        _prune(self.folder, "", ".json", KEEP_CACHE)


def _write_atomic(path: str, text: str) -> None:
    import threading

    tmp = os.path.join(os.path.dirname(path),
                       f".{os.path.basename(path)}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _prune(folder: str, prefix: str, suffix: str, keep: int) -> None:
    """Keep the newest ``keep`` files named PREFIX*SUFFIX (logs, reports, cache entries)."""
    try:
        files = [e for e in os.scandir(folder)
                 if e.name.startswith(prefix) and e.name.endswith(suffix) and e.is_file()]
        if len(files) <= keep:
            return
        files.sort(key=lambda e: e.stat().st_mtime)
        for old in files[:-keep]:
            os.unlink(old.path)
    except OSError:
        pass


# --- reports ---------------------------------------------------------------------------------


def _write_report(repo: RepoPaths, verdict: Verdict, rev: str, label: str | None) -> str | None:
    import json

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
    name = f"judge-{stamp}-{int(now * 1000) % 1000:03d}-{verdict.tree[:8]}.json"
    path = os.path.join(metrics, name)
    try:
        os.makedirs(metrics, exist_ok=True)
        _write_atomic(path, json.dumps(report, indent=2))
    except OSError:
        return None
    _prune(metrics, "judge-", ".json", KEEP_REPORTS)
    return path


def _audit(repo: RepoPaths, verdict: Verdict, rev: str, label: str | None,
           report: str | None) -> None:
    from ossa_hooks import audit

    audit.record(
        repo, "judge", label or rev, 0 if verdict.passed else 1, verdict.seconds,
        {"commit": verdict.commit, "tree": verdict.tree, "cached": verdict.cached,
         "checks": {r.name: r.status for r in verdict.results}, "report": report},
    )


# --- output ----------------------------------------------------------------------------------


class Ui:
    """Status lines while checks run: redrawn in place on a terminal, one line per finished
    check otherwise. Only the main thread writes."""

    SPIN = "|/-\\"

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        isatty = getattr(stream, "isatty", None)
        self.live = (not quiet and callable(isatty) and bool(isatty())
                     and os.environ.get("TERM") != "dumb")
        from ossa_hooks.output import use_color

        self.color = self.live and use_color(stream)
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


def _print_verdict(ui: Ui, verdict: Verdict, what: str, repo: RepoPaths,
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
            tail = tail_lines(r.log, TAIL_LINES)
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
    proc = git.run(["rev-parse", "-q", "--verify", "HEAD^{commit}"], git_cwd(repo), check=False)
    return proc.stdout.decode().strip() == commit


def tail_lines(path: str, n: int) -> list[str]:
    """The last ``n`` lines of a log file (read from its last 64 KiB)."""
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


class _Target:
    """A distinct tree to judge, with the pushed refs whose tip it is."""

    __slots__ = ("changed", "commit", "refs", "tree")

    def __init__(self, commit: str, tree: str, refs: list[str], changed: set[str] | None) -> None:
        self.commit = commit
        self.tree = tree
        self.refs = refs
        self.changed = changed  # None: judge as if everything changed


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
    proc = git.run(["cat-file", "--batch-check"], git_cwd(repo), input=query.encode())
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
    cwd = git_cwd(repo)
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
