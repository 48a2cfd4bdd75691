"""The registry of spawned agents (``agents.db`` in the git common dir): who they are, which
worktree and workflow they work for, whether they run (the pid leads the agent's own process
group), and ``terminate``, which ends that whole group."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import pids
from ossa_hooks import store
from ossa_hooks.agents.specs import AgentSpec
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.pids import group_alive

DB_NAME = "agents.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    spec TEXT NOT NULL,
    worktree TEXT NOT NULL,
    workflow INTEGER,
    status TEXT NOT NULL,
    pid INTEGER,
    phase TEXT,
    calls INTEGER NOT NULL DEFAULT 0,
    last_exit INTEGER,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    name: str
    type: str
    spec: str
    worktree: str
    workflow: int | None
    status: str
    pid: int | None
    phase: str | None
    calls: int
    last_exit: int | None
    updated: float

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _db(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


def _record(row: Any) -> AgentRecord:
    return AgentRecord(row["id"], row["name"], row["type"], row["spec"], row["worktree"],
                       row["workflow"], row["status"], row["pid"], row["phase"], row["calls"],
                       row["last_exit"], row["updated"])


def spawn(repo: RepoPaths, spec: AgentSpec, worktree: Path, workflow: int | None = None) -> str:
    """Register an agent instance of ``spec`` working in ``worktree``; returns its id."""
    now = time.time()
    with store.connect(_db(repo), _SCHEMA) as con:
        con.execute("BEGIN IMMEDIATE")
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM agents").fetchone()[0]
        agent_id = f"{spec.name}-{seq}"
        con.execute(
            "INSERT INTO agents (id, seq, name, type, spec, worktree, workflow, status, created,"
            " updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'idle', ?, ?)",
            (agent_id, seq, spec.name, spec.type, str(spec.path or ""), str(worktree), workflow,
             now, now),
        )
        con.execute("COMMIT")
    return agent_id


def get(repo: RepoPaths, agent_id: str) -> AgentRecord:
    with store.connect(_db(repo), _SCHEMA) as con:
        row = con.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
    if row is None:
        raise OssaError(f"no agent '{agent_id}' (see `ossa agents list`)")
    return _record(row)


def listing(repo: RepoPaths, everything: bool = True) -> list[AgentRecord]:
    if not _db(repo).exists():
        return []
    with store.connect(_db(repo), _SCHEMA) as con:
        rows = con.execute("SELECT * FROM agents ORDER BY seq").fetchall()
    records = [refresh(repo, _record(r)) for r in rows]
    return records if everything else [r for r in records if r.status == "running"]


def refresh(repo: RepoPaths, rec: AgentRecord) -> AgentRecord:
    """A 'running' agent whose process is gone (its runner was killed) is shown as 'lost'."""
    if rec.status == "running" and rec.pid and not pids.alive(rec.pid):
        update(repo, rec.id, status="lost", pid=None)
        return get(repo, rec.id)
    return rec


def update(repo: RepoPaths, agent_id: str, **fields: Any) -> None:
    fields["updated"] = time.time()
    cols = ", ".join(f"{k} = ?" for k in fields)
    with store.connect(_db(repo), _SCHEMA) as con:
        con.execute(f"UPDATE agents SET {cols} WHERE id = ?",  # noqa: S608 - fixed column names
                    (*fields.values(), agent_id))




def terminate(repo: RepoPaths, agent_id: str, grace: float = 5.0) -> str:
    """End a running agent's whole process group (TERM, then KILL after ``grace`` seconds)."""
    rec = get(repo, agent_id)
    if rec.status != "running" or not rec.pid:
        raise OssaError(f"agent {agent_id} is not running (status: {rec.status})", code=1)
    update(repo, agent_id, status="terminated")
    pgid = rec.pid  # the agent leads its own session, so its pid is its process group id
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return f"agent {agent_id} had already ended"
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pids.group_alive(pgid):
        time.sleep(0.05)
    if pids.group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return f"terminated agent {agent_id} (process group {pgid}, killed after {grace:g} s)"
    return f"terminated agent {agent_id} (process group {pgid})"


def alive(repo: RepoPaths, *, workflow: int | None = None, worktree: Path | None = None
          ) -> list[AgentRecord]:
    """Agents (of ``workflow``, or working in ``worktree``) whose process group still runs, even
    when the runner that started them is gone (killed with SIGKILL): a workflow must not start
    beside them."""
    if not _db(repo).exists():
        return []
    with store.connect(_db(repo), _SCHEMA) as con:
        rows = con.execute("SELECT * FROM agents WHERE pid IS NOT NULL").fetchall()
    found = []
    for rec in map(_record, rows):
        if workflow is not None and rec.workflow != workflow:
            continue
        if worktree is not None and Path(rec.worktree) != worktree:
            continue
        if rec.pid and group_alive(rec.pid):
            found.append(rec)
    return found


def finish(repo: RepoPaths, agent_id: str, status: str, exit_code: int) -> None:
    """A call ended: its status, exit code, one more call counted."""
    with store.connect(_db(repo), _SCHEMA) as con:
        con.execute("UPDATE agents SET status = ?, pid = NULL, last_exit = ?, calls = calls + 1,"
                    " updated = ? WHERE id = ?", (status, exit_code, time.time(), agent_id))
