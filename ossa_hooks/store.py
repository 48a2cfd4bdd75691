"""SQLite state files under the repository's git common dir: one connection recipe for all.

WAL mode and a busy timeout let the hooks and agents of several worktrees write at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ossa_hooks.errors import OssaError


@contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode with WAL, a busy timeout, and ``schema`` applied."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except (OSError, sqlite3.Error) as e:
        raise OssaError(f"{path}: cannot open the state database: {e}") from None
    try:
        con.row_factory = sqlite3.Row
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(schema)
        yield con
    finally:
        con.close()
