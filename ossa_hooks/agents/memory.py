"""The memory store: what finished tasks learned (task, plan, review findings, judge result,
files touched), in SQLite with full-text search (FTS5), in the git common dir so every worktree's
plan phase can query what the others learned."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import store
from ossa_hooks.git import RepoPaths

DB_NAME = "memory.db"

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS memories USING fts5(
    task, branch, kind, content,
    time UNINDEXED, workflow UNINDEXED,
    tokenize = 'porter unicode61'
);
"""

# Words too common to say anything about a task.
_STOP = frozenset(
    "the and for with from that this into are was were has have had not but all any can its "
    "you your our their them then than when what which who how why add use make should would "
    "could must will also each only more most some such very".split()
)


@dataclass(frozen=True, slots=True)
class Memory:
    task: str
    branch: str
    kind: str
    content: str
    time: float
    workflow: int | None


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


def add(repo: RepoPaths, *, task: str, branch: str, kind: str, content: str,
        workflow: int | None = None) -> None:
    with store.connect(db_path(repo), _SCHEMA) as con:
        con.execute(
            "INSERT INTO memories (task, branch, kind, content, time, workflow)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (task, branch, kind, content, time.time(), workflow),
        )


def fts_query(text: str) -> str:
    """A free-text question as an FTS5 query: its distinct words, any of them, quoted."""
    words: list[str] = []
    for w in re.findall(r"\w+", text.lower()):
        if len(w) > 2 and w not in _STOP and w not in words:
            words.append(w)
    return " OR ".join(f'"{w}"' for w in words[:32])


def search(repo: RepoPaths, text: str, limit: int = 5, exclude_branch: str | None = None
           ) -> list[Memory]:
    """The memories most relevant to ``text`` (BM25 ranking), best first."""
    query = fts_query(text)
    path = db_path(repo)
    if not query or limit <= 0 or not path.exists():
        return []
    sql = ("SELECT task, branch, kind, content, time, workflow FROM memories"
           " WHERE memories MATCH ?")
    params: list[object] = [query]
    if exclude_branch is not None:
        sql += " AND branch != ?"
        params.append(exclude_branch)
    sql += " ORDER BY bm25(memories) LIMIT ?"
    params.append(limit)
    try:
        with store.connect(path, _SCHEMA) as con:
            rows = con.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    return [Memory(r[0], r[1], r[2], r[3], float(r[4]),
                   int(r[5]) if r[5] not in (None, "") else None) for r in rows]


def recent(repo: RepoPaths, limit: int = 20) -> list[Memory]:
    path = db_path(repo)
    if not path.exists():
        return []
    with store.connect(path, _SCHEMA) as con:
        rows = con.execute("SELECT task, branch, kind, content, time, workflow FROM memories"
                           " ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
    return [Memory(r[0], r[1], r[2], r[3], float(r[4]),
                   int(r[5]) if r[5] not in (None, "") else None) for r in rows]


def format_for_prompt(memories: list[Memory], width: int = 400) -> str:
    if not memories:
        return "(no memories yet)"
    lines = []
    for m in memories:
        content = " ".join(m.content.split())
        if len(content) > width:
            content = content[: width - 1] + "…"
        lines.append(f"- [{m.task}, {m.kind}] {content}")
    return "\n".join(lines)
