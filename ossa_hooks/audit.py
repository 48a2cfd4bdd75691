"""The audit trail: one SQLite database per repository (in its git common dir, so every
worktree writes to the same trail), in WAL mode so concurrent hooks do not block each other."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

DB_NAME = "audit.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    time: float
    worktree: str
    kind: str
    name: str
    outcome: str
    exit_code: int
    duration_ms: float
    detail: Mapping[str, Any]

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


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection with WAL, a busy timeout for concurrent writers, and the schema in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(_SCHEMA)
        yield con
    finally:
        con.close()


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
    worktree = str(repo.toplevel or repo.git_dir)
    try:
        with connect(db_path(repo)) as con:
            con.execute(
                "INSERT INTO events (time, worktree, kind, name, outcome, exit_code, duration_ms,"
                " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    worktree,
                    kind,
                    name,
                    outcome,
                    exit_code,
                    duration_s * 1000.0,
                    json.dumps(dict(detail or {}), sort_keys=True),
                ),
            )
    except (sqlite3.Error, OSError) as e:
        if os.environ.get("OSSA_HOOKS_DEBUG"):
            print(f"ossa-hooks: audit trail not written: {e}")


def events(repo: RepoPaths, limit: int | None = None, name: str | None = None) -> list[Event]:
    """Events, oldest first (the newest ``limit`` when given)."""
    path = db_path(repo)
    if not path.exists():
        return []
    query = "SELECT * FROM events"
    params: list[Any] = []
    if name:
        query += " WHERE name = ?"
        params.append(name)
    query += " ORDER BY id DESC"
    if limit:
        query += " LIMIT ?"
        params.append(limit)
    try:
        with connect(path) as con:
            rows = con.execute(query, params).fetchall()
    except sqlite3.Error as e:
        raise OssaError(f"{path}: cannot read the audit trail: {e}") from None
    return [
        Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8] or "{}"))
        for r in reversed(rows)
    ]


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
