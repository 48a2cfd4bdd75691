"""The durable record of what agents were asked and answered: one SQLite table of events
(prompts, answers, errors, verdicts, judge results, escalations, compliance reports) and the
agents' raw output logs, by task, all under the git common dir (``ossa-hooks/record.db`` and
``ossa-hooks/logs/TASK/``), so they outlive the task worktree and its clean-up.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import store
from ossa_hooks.git import RepoPaths

DB_NAME = "record.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    workflow INTEGER,
    branch TEXT NOT NULL,
    task TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    phase TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_workflow ON events(workflow);
CREATE INDEX IF NOT EXISTS events_branch ON events(branch);
"""

KINDS = ("prompt", "answer", "error", "verdict", "judge", "escalation", "interrupted",
         "compliance")


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    time: float
    workflow: int | None
    branch: str
    task: str
    agent: str
    phase: str
    kind: str
    text: str
    detail: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["detail"] = dict(self.detail)
        return d


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


def task_dir(repo: RepoPaths, branch: str) -> Path:
    """``ossa-hooks/logs/agents__coder__greet/``: the folder of one task's logs and reports."""
    slug = re.sub(r"[^\w.-]+", "_", branch.replace("/", "__")).strip("._") or "task"
    return repo.state_dir / "logs" / slug


def log_path(repo: RepoPaths, branch: str, agent: str) -> Path:
    return task_dir(repo, branch) / f"agent-{agent}.log"


def add(repo: RepoPaths, *, branch: str, task: str, kind: str, text: str,
        workflow: int | None = None, agent: str = "", phase: str = "",
        detail: Mapping[str, Any] | None = None) -> int:
    """Append one event; returns its id (logs and reports link to it)."""
    with store.connect(db_path(repo), _SCHEMA) as con:
        cur = con.execute(
            "INSERT INTO events (time, workflow, branch, task, agent, phase, kind, text, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), workflow, branch, task, agent, phase, kind, text,
             json.dumps(dict(detail or {}), sort_keys=True, default=str)),
        )
        return int(cur.lastrowid or 0)


def events(repo: RepoPaths, *, workflow: int | None = None, branch: str | None = None,
           after: int = 0) -> list[Event]:
    """Events of a workflow (or of a task's branch) in time order, those after id ``after``."""
    if not db_path(repo).exists():
        return []
    sql = "SELECT * FROM events WHERE id > ?"
    params: list[Any] = [after]
    if workflow is not None:
        sql += " AND workflow = ?"
        params.append(workflow)
    if branch is not None:
        sql += " AND branch = ?"
        params.append(branch)
    with store.connect(db_path(repo), _SCHEMA) as con:
        rows = con.execute(sql + " ORDER BY time, id", params).fetchall()
    return [Event(r["id"], r["time"], r["workflow"], r["branch"], r["task"], r["agent"],
                  r["phase"], r["kind"], r["text"], json.loads(r["detail"])) for r in rows]


def format_event(e: Event, width: int | None = None) -> str:
    """``13:10:23 1_plan researcher prompt (110 tokens): Task: …`` and the text below it."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
    bits = [b for b in (e.phase, e.agent, e.kind) if b]
    facts = []
    for key in ("tokens", "prompt_tokens", "output_tokens", "cost_usd", "source", "exit_code"):
        if e.detail.get(key) not in (None, ""):
            facts.append(f"{key.replace('_', ' ')} {e.detail[key]}")
    head = f"[{when}] {' '.join(bits)}" + (f" ({', '.join(facts)})" if facts else "")
    text = e.text if width is None or len(e.text) <= width else e.text[: width - 1] + "…"
    body = "\n".join(f"    {line}" for line in text.rstrip("\n").splitlines())
    return head + ("\n" + body if body else "")
