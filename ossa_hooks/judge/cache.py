"""What the judge remembers: passing results per tree and check configuration, the last
verdict of each tree, JSON reports, the audit event; and pruning of old files."""

from __future__ import annotations

import os
import time

from ossa_hooks.judge.checks import PASSED
from ossa_hooks.judge.checks import CheckResult
from ossa_hooks.judge.checks import Verdict
from ossa_hooks.judge.checks import resolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ossa_hooks.git import RepoPaths
    from ossa_hooks.judge.checks import Check

KEEP_LOGS = 200
KEEP_REPORTS = 100
KEEP_CACHE = 1000


def workspace_dirs(repo: RepoPaths) -> tuple[str, str]:
    """Where logs and JSON reports go: the agent worktree's ``.agents-workspace/`` when there
    is one, else the repository's state folder in the git common dir."""
    if repo.toplevel_str is not None:
        ws = os.path.join(repo.toplevel_str, ".agents-workspace")
        if os.path.isdir(ws):
            return os.path.join(ws, "logs"), os.path.join(ws, "metrics")
    state = repo.state_dir_str
    return os.path.join(state, "judge-logs"), os.path.join(state, "judge-reports")


class Cache:
    """One JSON file per judged tree: passing results by check key, and the last verdict."""

    def __init__(self, repo: RepoPaths, tree: str, base: str | None = None) -> None:
        self.base = base
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
        entry = entries.get(check.key_for(self.base))
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
                entries[check.key_for(self.base)] = {"name": check.name, "status": PASSED,
                                      "seconds": round(result.seconds, 3), "log": result.log,
                                      "note": result.note, "time": now}
            else:
                entries.pop(check.key_for(self.base), None)
        data["checks"] = entries
        if verdict is not None:
            data["last"] = {**verdict.as_json(), "time": now}
            try:
                os.makedirs(os.path.dirname(self.folder), exist_ok=True)
                write_atomic(os.path.join(os.path.dirname(self.folder), "judge-last.json"),
                              json.dumps(data["last"]))
            except OSError:
                pass
        try:
            os.makedirs(self.folder, exist_ok=True)
            write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))
        except OSError:
            return  # a cache that cannot be written only costs a rerun
        self._data = data
        prune(self.folder, "", ".json", KEEP_CACHE)


def write_atomic(path: str, text: str) -> None:
    import threading

    tmp = os.path.join(os.path.dirname(path),
                       f".{os.path.basename(path)}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def prune(folder: str, prefix: str, suffix: str, keep: int) -> None:
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


def write_report(repo: RepoPaths, verdict: Verdict, rev: str, label: str | None) -> str | None:
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
        write_atomic(path, json.dumps(report, indent=2))
    except OSError:
        return None
    prune(metrics, "judge-", ".json", KEEP_REPORTS)
    return path


def audit_verdict(repo: RepoPaths, verdict: Verdict, rev: str, label: str | None,
           report: str | None) -> None:
    from ossa_hooks import audit

    audit.record(
        repo, "judge", label or rev, 0 if verdict.passed else 1, verdict.seconds,
        {"commit": verdict.commit, "tree": verdict.tree, "cached": verdict.cached,
         "checks": {r.name: r.status for r in verdict.results}, "report": report},
    )


def last_verdict(repo: RepoPaths, rev: str) -> Verdict | None:
    """The newest recorded verdict of ``rev``'s tree (passing or not), or None.

    The configuration it was reached with may have changed since; ``judge`` trusts only
    passing results of the same check configuration.
    """
    _, tree = resolve(repo, rev)
    last = Cache(repo, tree).load().get("last")
    if not isinstance(last, dict):
        return None
    try:
        results = tuple(
            CheckResult(str(r["name"]), str(r["status"]), float(r["seconds"]), r.get("log"),
                        str(r.get("note", "")))
            for r in last["checks"]
        )
        return Verdict(bool(last["passed"]), tree, True, results, str(last.get("commit", "")),
                       float(last.get("seconds", 0.0)),
                       tuple(str(r) for r in last.get("needs_review") or ()))
    except (KeyError, TypeError, ValueError):
        return None


def expected_seconds(repo: RepoPaths, cache: Cache) -> dict[str, float]:
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
