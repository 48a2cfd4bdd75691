"""Notes a person sends back with a task (``worktree review --send-back``) for the next execute
round: kept in the task worktree's ``.agents-workspace/data/`` (never committed) until the
coder's call that reads them succeeds."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

WORKSPACE = ".agents-workspace"
PENDING = "send-back.jsonl"
DONE = "send-back-done.jsonl"


@dataclass(frozen=True, slots=True)
class Note:
    time: str
    note: str
    by: str
    head: str

    def as_json(self) -> dict[str, str]:
        return {"time": self.time, "note": self.note, "by": self.by, "head": self.head}


def _data(worktree: Path) -> Path:
    return worktree / WORKSPACE / "data"


def send_back(worktree: Path, note: str, *, by: str, head: str) -> Note:
    """Store ``note`` for the next execute round of the task in ``worktree``."""
    entry = Note(time.strftime("%Y-%m-%dT%H:%M:%S%z"), note.strip(), by, head)
    folder = _data(worktree)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / PENDING).open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry.as_json(), ensure_ascii=False) + "\n")
    return entry


def pending(worktree: Path) -> list[Note]:
    """The notes no execute round has read yet, oldest first."""
    return _read(_data(worktree) / PENDING)


def _read(path: Path) -> list[Note]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    notes = []
    for line in lines:
        try:
            d = json.loads(line)
            notes.append(Note(str(d["time"]), str(d["note"]), str(d.get("by", "")),
                              str(d.get("head", ""))))
        except (ValueError, KeyError, TypeError):
            continue
    return notes


def as_prompt(notes: list[Note]) -> str:
    """The notes as the coder's prompt shows them (in the ``{findings}`` slot)."""
    return ("A person reviewed the work and sent it back; do what these notes ask:\n"
            + "\n".join(f"- {n.note}" for n in notes))


def done(worktree: Path, notes: list[Note]) -> None:
    """Move ``notes`` (read by an execute round that succeeded) to the done file."""
    if not notes:
        return
    folder = _data(worktree)
    left = [n for n in pending(worktree) if n not in notes]
    with (folder / DONE).open("a", encoding="utf-8") as f:
        for n in notes:
            f.write(json.dumps(n.as_json(), ensure_ascii=False) + "\n")
    tmp = folder / f".{PENDING}.{os.getpid()}"
    tmp.write_text("".join(json.dumps(n.as_json(), ensure_ascii=False) + "\n" for n in left),
                   encoding="utf-8")
    os.replace(tmp, folder / PENDING)
