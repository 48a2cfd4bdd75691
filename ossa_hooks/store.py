"""SQLite state files under the repository's git common dir: one connection recipe for all.

WAL mode and a busy timeout let the hooks and agents of several worktrees write at once. The
timeout is short (``OSSA_HOOKS_BUSY_TIMEOUT`` seconds: 5 for a command, 1 inside a hook, so a
locked database never holds ``git merge`` for long). A locked, corrupt or unwritable database
is one line naming the file and what to do; ``doctor`` checks every state database and
``doctor --fix`` moves a corrupt one aside (never deletes it) so the next run starts afresh.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from pathlib import Path

    from ossa_hooks.doctor import Finding
    from ossa_hooks.git import RepoPaths

BUSY_TIMEOUT_VAR = "OSSA_HOOKS_BUSY_TIMEOUT"
COMMAND_BUSY_TIMEOUT = 5.0
HOOK_BUSY_TIMEOUT = 1.0

# The state databases ``doctor`` checks (every module's DB_NAME; audit.db is the trail).
DATABASES = ("audit.db", "budget.db", "agents.db", "workflow.db", "memory.db")

FIX = "ossa-hooks doctor --fix"

# sqlite error names (``sqlite_errorname``, Python 3.11+) and the message words of older ones.
_LOCKED = ("SQLITE_BUSY", "SQLITE_LOCKED")
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_UNWRITABLE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR", "SQLITE_FULL")


class DatabaseProblem(OssaError):
    """A state database that cannot be used: ``kind`` is locked, corrupt or unwritable."""

    def __init__(self, message: str, path: str, kind: str) -> None:
        super().__init__(message)
        self.path = path
        self.kind = kind


def busy_timeout() -> float:
    """Seconds to wait for another process's lock: ``OSSA_HOOKS_BUSY_TIMEOUT`` when it is a
    number >= 0, else 5 (``run`` sets 1 for hooks)."""
    import math

    raw = os.environ.get(BUSY_TIMEOUT_VAR, "")
    try:
        value = float(raw)
    except ValueError:
        return COMMAND_BUSY_TIMEOUT
    return value if math.isfinite(value) and value >= 0 else COMMAND_BUSY_TIMEOUT


def kind_of(error: BaseException) -> str | None:
    """locked, corrupt or unwritable for an sqlite error about the file; None for others."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    text = str(error).lower()
    if name.startswith(_LOCKED) or "database is locked" in text or "is busy" in text:
        return "locked"
    if name.startswith(_CORRUPT) or "not a database" in text or "malformed" in text:
        return "corrupt"
    if name.startswith(_UNWRITABLE) or "readonly database" in text \
            or "unable to open database" in text or "disk i/o error" in text:
        return "unwritable"
    return None


def problem(path: str | os.PathLike[str], error: BaseException) -> OssaError:
    """The one-line error for ``error`` on the database at ``path``."""
    where = os.fspath(path)
    kind = kind_of(error)
    if kind == "locked":
        return DatabaseProblem(
            f"{where}: the database is locked by another process (waited {busy_timeout():g} s):"
            " run this again when that process ends (`fuser` names it)", where, kind)
    if kind == "corrupt":
        return DatabaseProblem(
            f"{where}: the database is corrupt ({error}): run `{FIX}` to move it aside"
            " and start a new one", where, kind)
    if kind == "unwritable" and "readonly" in str(error):
        return DatabaseProblem(
            f"{where}: cannot write the database ({error}): the folder is read-only for this"
            " user or file system", where, kind)
    if kind == "unwritable":
        return DatabaseProblem(
            f"{where}: cannot open the state database: {error} (check that the path is a file"
            " this user may write)", where, kind)
    return OssaError(f"{where}: database error: {error} (run `ossa-hooks doctor`)")


@contextmanager
def connect(path: Path | str, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode with WAL, a busy timeout, and ``schema`` applied.

    An sqlite error about the file itself (locked, corrupt, unwritable), at opening or in the
    ``with`` block, becomes a :class:`DatabaseProblem`; other errors pass unchanged.
    """
    import sqlite3

    try:
        os.makedirs(os.path.dirname(os.fspath(path)), exist_ok=True)
        con = sqlite3.connect(path, timeout=busy_timeout(), isolation_level=None)
    except sqlite3.Error as e:
        raise problem(path, e) from None
    except OSError as e:
        raise OssaError(f"{path}: cannot open the state database: {e.strerror}") from None
    try:
        con.row_factory = sqlite3.Row
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(schema)
        yield con
    except sqlite3.Error as e:
        if kind_of(e) is None:
            raise
        raise problem(path, e) from None
    finally:
        con.close()


# --- doctor: check every state database; --fix moves a corrupt one aside ---------------------


def health(path: str) -> tuple[str, str]:
    """``(kind, detail)`` of the database at ``path``: ok, locked, corrupt or unwritable.

    A database in a folder this process may not write (a read-only git dir) is opened
    ``immutable`` instead: its health does not depend on who looks at it."""
    kind, detail = _health(path, path, False)
    if kind == "unwritable":
        from urllib.parse import quote

        uri = f"file:{quote(os.path.abspath(path))}?mode=ro&immutable=1"
        kind, detail = _health(path, uri, True)
    return kind, detail


def _health(path: str, target: str, uri: bool) -> tuple[str, str]:
    import sqlite3

    try:
        con = sqlite3.connect(target, timeout=min(busy_timeout(), 1.0), uri=uri)
    except sqlite3.Error as e:
        return kind_of(e) or "corrupt", str(e)
    try:
        rows = con.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as e:
        return kind_of(e) or "corrupt", str(e)
    finally:
        con.close()
    if rows and rows[0][0] == "ok":
        return "ok", ""
    return "corrupt", "; ".join(str(r[0]) for r in rows[:3])


def check_databases(repo: RepoPaths) -> list[Finding]:
    """doctor: each state database that exists opens and passes ``PRAGMA quick_check``."""
    from ossa_hooks.doctor import Finding

    found = []
    for name in DATABASES:
        path = os.path.join(repo.state_dir_str, name)
        if not os.path.exists(path):
            continue
        kind, detail = health(path)
        if kind == "ok":
            found.append(Finding("ok", path, "database readable"))
        elif kind == "corrupt":
            found.append(Finding("problem", path, f"database is corrupt ({detail}); --fix"
                                 " moves it aside and a new one starts empty", FIX))
        elif kind == "locked":
            found.append(Finding("note", path, "database is locked by another process now"))
        else:
            found.append(Finding("problem", path, f"database cannot be opened ({detail})"))
    return found


def fix_databases(repo: RepoPaths) -> list[str]:
    """doctor --fix: move each corrupt state database (with its -wal and -shm files) to
    ``NAME.corrupt-TIMESTAMP`` beside it; what was moved."""
    import time

    done = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in DATABASES:
        path = os.path.join(repo.state_dir_str, name)
        if not os.path.exists(path) or health(path)[0] != "corrupt":
            continue
        aside = f"{path}.corrupt-{stamp}"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.replace(path + suffix, aside + suffix)
        done.append(f"{path}: corrupt database moved to {os.path.basename(aside)}")
    return done
