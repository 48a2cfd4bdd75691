"""store.connect: the one recipe for ossa-hooks' SQLite state (WAL, busy timeout, autocommit,
the schema applied), under the git common dir where several worktrees write at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import git

from ossa_hooks import store
from ossa_hooks.errors import OssaError
from ossa_hooks.git import repo_paths

SCHEMA = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT NOT NULL);"


def count(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        con.close()


def test_creates_folders_wal_and_schema(committed_repo: Path) -> None:
    path = repo_paths(committed_repo).state_dir / "deep" / "state.db"
    with store.connect(path, SCHEMA) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 5000  # a command waits 5 s
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        con.execute("INSERT INTO t (who) VALUES ('a')")
        row = con.execute("SELECT id, who FROM t").fetchone()
        assert (row["id"], row["who"]) == (1, "a")  # rows by column name
    assert path.is_file()
    assert path.parent == committed_repo / ".git" / "ossa-hooks" / "deep"
    assert count(path) == 1
    # WAL is a property of the file: a plain connection sees it too.
    plain = sqlite3.connect(path)
    assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plain.close()


def test_autocommit_each_statement_is_visible_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with store.connect(path, SCHEMA) as writer:
        writer.execute("INSERT INTO t (who) VALUES ('w')")
        assert not writer.in_transaction
        assert count(path) == 1  # another connection sees it before the context ends


def test_schema_is_applied_again_without_harm(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    for _ in range(3):
        with store.connect(path, SCHEMA) as con:
            con.execute("INSERT INTO t (who) VALUES ('x')")
    assert count(path) == 3
    more = SCHEMA + "CREATE TABLE IF NOT EXISTS u (v TEXT);"
    with store.connect(path, more) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == {"t", "u"}
    assert count(path) == 3


def test_the_connection_is_closed_after_the_block(tmp_path: Path) -> None:
    with store.connect(tmp_path / "s.db", SCHEMA) as con:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        con.execute("SELECT 1")


def test_closed_even_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), store.connect(tmp_path / "s.db", SCHEMA) as con:
        raise RuntimeError("boom")
    with pytest.raises(sqlite3.ProgrammingError):
        con.execute("SELECT 1")


def test_a_bad_schema_raises_and_closes(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError), \
            store.connect(tmp_path / "s.db", "CREATE TABLE (;"):
        pytest.fail("the block must not run")


@pytest.mark.parametrize("make", ["file-as-folder", "folder-as-db"])
def test_unopenable_path_is_a_one_line_error(tmp_path: Path, make: str) -> None:
    if make == "file-as-folder":
        (tmp_path / "blocker").write_text("I am a file\n")
        path = tmp_path / "blocker" / "s.db"
    else:
        path = tmp_path / "adir"
        path.mkdir()
    with pytest.raises(OssaError) as e, store.connect(path, SCHEMA):
        pytest.fail("the block must not run")
    message = str(e.value)
    assert message.startswith(f"{path}: cannot open the state database: ")
    assert "\n" not in message


def test_readers_are_not_blocked_by_an_open_write(tmp_path: Path) -> None:
    """WAL: a reader sees the last committed state while a writer holds its transaction."""
    path = tmp_path / "s.db"
    with store.connect(path, SCHEMA) as writer, store.connect(path, SCHEMA) as reader:
        writer.execute("INSERT INTO t (who) VALUES ('committed')")
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t (who) VALUES ('pending')")
        assert [r["who"] for r in reader.execute("SELECT who FROM t")] == ["committed"]
        writer.execute("COMMIT")
        assert [r["who"] for r in reader.execute("SELECT who FROM t ORDER BY id")] == [
            "committed", "pending"]


WRITER = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from ossa_hooks import store
    from ossa_hooks.git import repo_paths

    who, n = sys.argv[1], int(sys.argv[2])
    path = repo_paths().state_dir / "shared.db"
    schema = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT NOT NULL);"
    for i in range(n):
        with store.connect(path, schema) as con:
            con.execute("BEGIN IMMEDIATE")
            total = con.execute("SELECT count(*) FROM t").fetchone()[0]
            con.execute("INSERT INTO t (who) VALUES (?)", (f"{who}:{total}",))
            con.execute("COMMIT")
    print(who, "done")
""")


def test_processes_in_several_worktrees_write_at_once(committed_repo: Path,
                                                      tmp_path: Path) -> None:
    """Writers in the main and two linked worktrees share one database; none is refused
    ("database is locked") and no write is lost."""
    folders = [committed_repo]
    for name in ("wt one", "wt two"):
        wt = tmp_path / name
        git(committed_repo, "worktree", "add", "-q", "-b", name.replace(" ", "-"), str(wt))
        folders.append(wt)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 40
    procs = [subprocess.Popen([sys.executable, str(script), f"w{i}", str(n)], cwd=folder,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, folder in enumerate(folders * 2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), results
    path = committed_repo / ".git" / "ossa-hooks" / "shared.db"
    con = sqlite3.connect(path)
    rows = [r[0] for r in con.execute("SELECT who FROM t ORDER BY id")]
    con.close()
    assert len(rows) == n * len(procs)
    # Each writer counted the rows inside its own transaction: the counts are 0..N-1, once each.
    assert sorted(int(r.split(":")[1]) for r in rows) == list(range(len(rows)))
    assert not (tmp_path / "wt one" / ".git").is_dir()  # linked worktrees: a .git file


# --- hostile files: locked, corrupt, read-only -------------------------------------------------


def test_busy_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(store.BUSY_TIMEOUT_VAR, raising=False)
    assert store.busy_timeout() == store.COMMAND_BUSY_TIMEOUT
    for raw, want in (("1", 1.0), ("0.25", 0.25), ("nan", 5.0), ("-1", 5.0), ("x", 5.0)):
        monkeypatch.setenv(store.BUSY_TIMEOUT_VAR, raw)
        assert store.busy_timeout() == want


def test_a_corrupt_database_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "budget.db"
    path.write_bytes(b"not sqlite at all " * 200)
    with pytest.raises(store.DatabaseProblem) as e, store.connect(path, SCHEMA):
        pytest.fail("the block must not run")
    assert e.value.kind == "corrupt"
    assert str(e.value) == (f"{path}: the database is corrupt (file is not a database): run"
                            " `ossa-hooks doctor --fix` to move it aside and start a new one")


def test_a_locked_database_waits_the_timeout_then_one_line(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv(store.BUSY_TIMEOUT_VAR, "0.2")
    path = tmp_path / "s.db"
    with store.connect(path, SCHEMA):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t (who) VALUES ('holder')")
    try:
        with pytest.raises(store.DatabaseProblem) as e, store.connect(path, SCHEMA) as con:
            con.execute("INSERT INTO t (who) VALUES ('me')")
    finally:
        holder.close()
    assert e.value.kind == "locked"
    assert "locked by another process (waited 0.2 s)" in str(e.value)


def test_errors_of_the_caller_pass_unchanged(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.IntegrityError), store.connect(tmp_path / "s.db", SCHEMA) as con:
        con.execute("INSERT INTO t (who) VALUES (NULL)")


def test_doctor_check_and_fix(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    with store.connect(repo.state_dir / "budget.db", SCHEMA):
        pass
    bad = repo.state_dir / "agents.db"
    bad.write_bytes(b"junk" * 100)
    found = {f.where: f for f in store.check_databases(repo)}
    assert found[str(repo.state_dir / "budget.db")].status == "ok"
    assert found[str(bad)].status == "problem" and found[str(bad)].fix == store.FIX
    assert "workflow.db" not in " ".join(found)  # absent databases are not reported
    done = store.fix_databases(repo)
    assert len(done) == 1 and "agents.db: corrupt database moved to agents.db.corrupt-" in done[0]
    assert not bad.exists()
    [aside] = [p for p in repo.state_dir.iterdir() if p.name.startswith("agents.db.corrupt-")]
    assert aside.read_bytes() == b"junk" * 100
    assert (repo.state_dir / "budget.db").exists()  # a healthy database is left alone
    assert all(f.status == "ok" for f in store.check_databases(repo))
