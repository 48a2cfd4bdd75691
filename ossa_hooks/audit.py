"""The audit trail: one SQLite database per repository (in its git common dir, so every
worktree writes to the same trail), in WAL mode so concurrent readers and writers do not block.

Writers append one line per event to a journal file beside the database (``os.write`` under a
shared ``flock``: no sqlite3 import, which would cost a hook a third of its time); whoever
reads the trail first moves the journal's lines into SQLite. Each event carries a unique id,
so a move interrupted half-way never duplicates or loses an event.
"""

from __future__ import annotations

import os
import time

from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping
    from typing import Any

    from ossa_hooks.git import RepoPaths

DB_NAME = "audit.db"
JOURNAL_NAME = "audit.journal"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT,
    time REAL NOT NULL,
    worktree TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
"""
_INDEX_UID = "CREATE UNIQUE INDEX IF NOT EXISTS events_uid ON events(uid)"
_COLUMNS = ("uid", "time", "worktree", "kind", "name", "outcome", "exit_code", "duration_ms",
            "detail")
_INSERT = (
    "INSERT OR IGNORE INTO events (uid, time, worktree, kind, name, outcome, exit_code,"
    " duration_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT id, time, worktree, kind, name, outcome, exit_code, duration_ms, detail FROM events"
)


class Event:
    """One row of the trail (a plain class: every hook imports this module)."""

    __slots__ = ("detail", "duration_ms", "exit_code", "id", "kind", "name", "outcome", "time",
                 "worktree")

    def __init__(
        self,
        id: int,
        time: float,
        worktree: str,
        kind: str,
        name: str,
        outcome: str,
        exit_code: int,
        duration_ms: float,
        detail: Mapping[str, Any],
    ) -> None:
        self.id = id
        self.time = time
        self.worktree = worktree
        self.kind = kind
        self.name = name
        self.outcome = outcome
        self.exit_code = exit_code
        self.duration_ms = duration_ms
        self.detail = detail

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": _iso(self.time),
            "worktree": self.worktree,
            "kind": self.kind,
            "name": self.name,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "duration_ms": round(self.duration_ms, 1),
            "detail": dict(self.detail),
        }


def db_path(repo: RepoPaths) -> str:
    return os.path.join(repo.state_dir_str, DB_NAME)


def journal_path(repo: RepoPaths) -> str:
    return os.path.join(repo.state_dir_str, JOURNAL_NAME)


def connect(path: str) -> sqlite3.Connection:
    """A connection with WAL, a busy timeout for concurrent writers, and the schema in place.

    The caller closes it.
    """
    import sqlite3

    from ossa_hooks.store import busy_timeout

    os.makedirs(os.path.dirname(path), exist_ok=True)
    con = sqlite3.connect(path, timeout=busy_timeout(), isolation_level=None)
    try:
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(_SCHEMA)
        columns = {row[1] for row in con.execute("PRAGMA table_info(events)")}
        if "uid" not in columns:  # a trail written before events had ids
            con.execute("ALTER TABLE events ADD COLUMN uid TEXT")
        con.execute(_INDEX_UID)
    except BaseException:
        con.close()
        raise
    return con


def record(
    repo: RepoPaths,
    kind: str,
    name: str,
    exit_code: int,
    duration_s: float,
    detail: Mapping[str, Any] | None = None,
    outcome: str | None = None,
) -> None:
    """Append one event. The trail must never break the hook it records: errors are ignored."""
    if outcome is None:
        outcome = {0: "ok", 1: "failed"}.get(exit_code, "error")
    worktree = repo.toplevel_str or repo.git_dir_str
    line = to_json(
        {
            "uid": os.urandom(12).hex(),
            "time": time.time(),
            "worktree": worktree,
            "kind": kind,
            "name": name,
            "outcome": outcome,
            "exit_code": exit_code,
            "duration_ms": duration_s * 1000.0,
            "detail": to_json(dict(detail or {})),
        }
    )
    try:
        _append(journal_path(repo), (line + "\n").encode("utf-8"))
    except OSError as e:
        if os.environ.get("OSSA_HOOKS_DEBUG"):
            print(f"ossa-hooks: audit trail not written: {e}")


def _append(path: str, data: bytes) -> None:
    """Append ``data`` to the journal at ``path`` as one write.

    The shared lock and the inode check pair with ``_ingest``: a line is written either to a
    journal no ingester has taken yet, or to one whose ingester waits for the lock before
    reading it.
    """
    import fcntl

    os.makedirs(os.path.dirname(path), exist_ok=True)
    for _ in range(20):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                continue  # taken by an ingester between our open and our lock
            if current != os.fstat(fd).st_ino:
                continue
            os.write(fd, data)
            return
        finally:
            os.close(fd)
    raise OSError(f"{path}: journal kept moving")


def _ingest(con: sqlite3.Connection, journal: str) -> None:
    """Move the journal's events into the database (idempotent, safe with concurrent writers)."""
    import fcntl
    import glob
    import json

    folder = os.path.dirname(journal)
    taken = f"{journal}.{os.getpid()}.{os.urandom(4).hex()}.ingest"
    try:
        os.rename(journal, taken)
    except FileNotFoundError:
        pass
    # Our own file and any left by an ingester that died before finishing.
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), f"{JOURNAL_NAME}.*.ingest"))):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # another ingester finished it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # writers that opened it before the rename are done
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
        finally:
            os.close(fd)
        rows = []
        for raw in data.splitlines():
            try:
                item = json.loads(raw)
                rows.append(tuple(_storable(item[c]) for c in _COLUMNS))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a killed writer
        con.execute("BEGIN IMMEDIATE")
        con.executemany(_INSERT, rows)
        con.execute("COMMIT")
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _storable(value: Any) -> Any:
    """A journal value SQLite can store: text with a file name's undecodable bytes (lone
    surrogates, which SQLite refuses) spelled as backslash escapes, so one odd path never
    leaves the journal stuck."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def events(repo: RepoPaths, limit: int | None = None, name: str | None = None) -> list[Event]:
    """Events, oldest first (the newest ``limit`` when given)."""
    import sqlite3

    path = db_path(repo)
    if not os.path.isdir(repo.state_dir_str):
        return []
    query = _SELECT
    params: list[Any] = []
    if name:
        query += " WHERE name = ?"
        params.append(name)
    query += " ORDER BY time DESC, id DESC"
    if limit:
        query += " LIMIT ?"
        params.append(limit)
    try:
        con = connect(path)
        try:
            _ingest(con, journal_path(repo))
            rows = con.execute(query, params).fetchall()
        finally:
            con.close()
    except (sqlite3.Error, OSError) as e:
        if not _read_only(repo, e):
            if isinstance(e, OSError):
                raise OssaError(f"{path}: cannot read the audit trail: {e}") from None
            from ossa_hooks.store import problem

            raise problem(path, e) from None
        # A read-only git dir: read the trail where it lies, moving nothing.
        rows = _rows_in_place(repo, query, params, limit, name)
    return [
        Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _from_json(r[8]))
        for r in reversed(rows)
    ]


def _read_only(repo: RepoPaths, error: BaseException) -> bool:
    """True when ``error`` comes from a state folder this process may not write."""
    import errno

    if isinstance(error, OSError):
        return error.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    return not os.access(repo.state_dir_str, os.W_OK) or _on_read_only_fs(repo.state_dir_str)


def _on_read_only_fs(folder: str) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _rows_in_place(repo: RepoPaths, query: str, params: list[Any], limit: int | None,
                   name: str | None) -> list[Any]:
    """The rows ``query`` gives from audit.db opened read-only (``immutable``: no -shm file is
    needed) plus the events still waiting in the journal, newest first."""
    import json
    import sqlite3
    from urllib.parse import quote

    rows: list[Any] = []
    path = db_path(repo)
    if os.path.exists(path):
        uri = f"file:{quote(os.path.abspath(path))}?mode=ro&immutable=1"
        try:
            con = sqlite3.connect(uri, uri=True)
            try:
                rows = con.execute(query, params).fetchall()
            finally:
                con.close()
        except sqlite3.Error as e:
            from ossa_hooks.store import problem

            raise problem(path, e) from None
    try:
        with open(journal_path(repo), "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    pending = []
    for raw in data.splitlines():
        try:
            item = json.loads(raw)
            values = tuple(_storable(item[c]) for c in _COLUMNS[1:])
        except (ValueError, KeyError, TypeError):
            continue
        if name and values[3] != name:
            continue
        pending.append((0, *values))
    merged = sorted([*rows, *pending], key=lambda r: (r[1], r[0]), reverse=True)
    return merged[:limit] if limit else merged


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


def format_text(items: list[Event]) -> str:
    """One line per event: time, worktree, kind, name, outcome, duration."""
    if not items:
        return "no events yet"
    lines = []
    for e in items:
        lines.append(
            f"{_iso(e.time)}  {e.kind:<7} {e.name:<16} {e.outcome:<7} {e.duration_ms:8.1f} ms  "
            f"{e.worktree}"
        )
    return "\n".join(lines)


# The json module pulls in `re` and `enum`: half of a hook's import time. Events hold only
# plain values, so they are encoded here; reading (not a hook's job) uses json itself.
_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})


def to_json(value: object) -> str:
    """JSON text of ``value`` (str, int, float, bool, None, lists, dicts with str keys)."""
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else "null"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from undecodable file names
            import json

            return json.dumps(value)
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{to_json(k)}:{to_json(v)}" for k, v in items) + "}"
    return to_json(str(value))


def _from_json(text: str | None) -> dict[str, Any]:
    import json

    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {"unreadable": text}
    return data if isinstance(data, dict) else {"value": data}
