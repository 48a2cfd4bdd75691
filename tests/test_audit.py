"""The audit trail: shared by worktrees, WAL, safe under concurrent writers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import git
from conftest import ossa
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks import audit
from ossa_hooks import git as ogit

WRITER = """
import sys
from ossa_hooks import audit, git
repo = git.repo_paths(sys.argv[1])
for i in range(40):
    audit.record(repo, "command", f"writer-{sys.argv[2]}", 0, 0.001, {"i": i})
"""


def test_concurrent_writers_lose_nothing(committed_repo: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(committed_repo), str(n)])
        for n in range(8)
    ]
    assert [p.wait() for p in procs] == [0] * 8
    repo = ogit.repo_paths(committed_repo)
    found = audit.events(repo)
    assert len(found) == 8 * 40
    assert {e.name for e in found} == {f"writer-{n}" for n in range(8)}
    with sqlite3.connect(audit.db_path(repo)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_worktrees_share_one_trail(committed_repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(committed_repo, "worktree", "add", "-q", "-b", "side", str(linked))
    ossa(linked, "doctor")
    ossa(committed_repo, "doctor")
    proc = ossa(linked, "audit", "--format", "json")
    rows = json.loads(proc.stdout)
    assert [(r["name"], r["worktree"]) for r in rows] == [
        ("doctor", str(linked)),
        ("doctor", str(committed_repo)),
    ]
    assert set(rows[0]) >= {"time", "worktree", "kind", "name", "outcome", "duration_ms"}
    assert (committed_repo / ".git" / "ossa-hooks" / "audit.db").exists()


def test_text_output_and_filters(committed_repo: Path) -> None:
    assert ossa(committed_repo, "audit").stdout.strip() == "no events yet"
    ossa(committed_repo, "doctor")
    ossa(committed_repo, "install", "-t", "pre-commit")
    text = ossa(committed_repo, "audit", "--name", "install").stdout
    lines = text.strip().splitlines()
    assert len(lines) == 1
    assert " command install " in lines[0] and " ok " in lines[0]


def test_an_unwritable_trail_never_breaks_the_caller(committed_repo: Path) -> None:
    state = committed_repo / ".git" / "ossa-hooks"
    state.write_text("not a folder")  # the trail cannot be created
    repo = ogit.repo_paths(committed_repo)
    audit.record(repo, "hook", "pre-commit", 0, 0.01)  # no exception
    assert git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x").returncode == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_event_encoder_round_trips_through_json(value: object) -> None:
    text = audit.to_json(value)
    assert json.loads(text) == value


def test_the_event_encoder_keeps_undecodable_names() -> None:
    name = b"caf\xff.txt".decode("utf-8", "surrogateescape")
    assert json.loads(audit.to_json({"path": name})) == {"path": name}


READER = """
import sys
from ossa_hooks import audit, git
repo = git.repo_paths(sys.argv[1])
for i in range(15):
    audit.events(repo)
"""


def test_readers_moving_the_journal_while_writers_append_lose_nothing(
    committed_repo: Path,
) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(committed_repo), str(n)])
        for n in range(4)
    ]
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(committed_repo)]) for _ in range(2)
    ]
    assert [p.wait() for p in writers + readers] == [0] * 6
    found = audit.events(ogit.repo_paths(committed_repo))
    keys = [(e.name, e.detail["i"]) for e in found]
    assert len(keys) == 4 * 40
    assert len(set(keys)) == 4 * 40


def test_a_journal_left_by_a_killed_reader_is_taken_up_once(committed_repo: Path) -> None:
    repo = ogit.repo_paths(committed_repo)
    audit.record(repo, "command", "first", 0, 0.0)
    audit.record(repo, "command", "second", 0, 0.0)
    journal = Path(audit.journal_path(repo))
    # A reader died after taking the journal and storing its events, before removing it.
    leftover = journal.with_name(f"{journal.name}.999.dead.ingest")
    journal.rename(leftover)
    copy = leftover.read_bytes()
    assert [e.name for e in audit.events(repo)] == ["first", "second"]
    leftover.write_bytes(copy + b'{"cut short\n')
    assert [e.name for e in audit.events(repo)] == ["first", "second"]
    assert not leftover.exists()
