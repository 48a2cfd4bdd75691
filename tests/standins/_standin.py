"""Shared by the stand-ins of tests/standins/: what an agent CLI does to the worktree, by role.

Each stand-in reproduces one real CLI's documented command line and output (see its docstring),
records the argv it got in ``$OSSA_WORKSPACE/data/argv-<cli>-<type>.json`` and, when its
permissions allow, edits files like a coder would. ``STANDIN_MODE`` makes it fail the ways the
real one fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def setup(cli: str, argv: list[str]) -> tuple[str, Path]:
    kind = os.environ.get("OSSA_AGENT_TYPE", "agent")
    data = Path(os.environ.get("OSSA_WORKSPACE", ".agents-workspace")) / "data"
    data.mkdir(parents=True, exist_ok=True)
    calls = data / f"argv-{cli}-{kind}.json"
    seen = json.loads(calls.read_text()) if calls.exists() else []
    seen.append(argv)
    calls.write_text(json.dumps(seen))
    return kind, data


def mode() -> str:
    return os.environ.get("STANDIN_MODE", "")


def answer(kind: str, edited: bool) -> str:
    if kind == "researcher":
        return "## Plan\n1. Create hello.py with a greet() function.\n2. Add a test."
    if kind == "reviewer":
        return "VERDICT: approve\n- greet() is small and tested"
    return "Changed hello.py: added greet()." if edited else "I could not edit hello.py."


def edit() -> None:
    target = Path("hello.py")
    lines = target.read_text().splitlines() if target.exists() else []
    lines.append(f"# round {len(lines) + 1}")
    if not any(line.startswith("def greet") for line in lines):
        lines.insert(0, "def greet(name):\n    return f'hello {name}'\n")
    target.write_text("\n".join(lines) + "\n")
