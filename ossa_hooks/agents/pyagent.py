"""The ``python`` provider's runner:
``python -m ossa_hooks.agents.pyagent package.module:function``.

Runs an agent written in Python (LangGraph, AutoGen/AG2, CrewAI, the OpenAI Agents SDK, ...) as
a child process like every other provider, so budgets, logs and ``terminate`` work the same.
The callable takes the prompt (str) and returns text, ``(text, usage)``, or a mapping with
``text`` (or ``output``) and optional ``usage`` (``input_tokens``/``output_tokens``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any


def _split(result: Any) -> tuple[str, Mapping[str, Any] | None]:
    if isinstance(result, tuple) and len(result) == 2:
        text, usage = result
        return str(text), usage if isinstance(usage, Mapping) else None
    if isinstance(result, Mapping):
        text = result.get("text", result.get("output", ""))
        usage = result.get("usage")
        return str(text), usage if isinstance(usage, Mapping) else None
    return ("" if result is None else str(result)), None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or ":" not in args[0]:
        print("usage: python -m ossa_hooks.agents.pyagent package.module:function", file=sys.stderr)
        return 2
    module_name, _, func_name = args[0].partition(":")
    sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
        for part in func_name.split("."):
            target = getattr(target, part)
    except Exception as e:  # noqa: BLE001 - importing runs the agent module's own code
        print(f"ossa-hooks: python agent {args[0]}: cannot load it: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 127
    if not callable(target):
        print(f"ossa-hooks: python agent {args[0]}: not a function", file=sys.stderr)
        return 127
    prompt = sys.stdin.read()
    text, usage = _split(target(prompt))
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    if usage is not None:
        sys.stdout.write(json.dumps({"usage": dict(usage)}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
