#!/usr/bin/env python3
"""An interactive agent for the live-session tests: it greets with the identity it was given,
notes each line a person (or the first prompt) types into notes.txt, and leaves on "bye"."""

from __future__ import annotations

import os
import sys


def main() -> int:
    print(f"agent ready (task: {os.environ.get('OSSA_TASK_NAME')}, id:"
          f" {os.environ.get('OSSA_AGENT_ID')}, tty: {sys.stdin.isatty()})", flush=True)
    for raw in sys.stdin:
        line = raw.strip()
        if line == "bye":
            print("bye", flush=True)
            return 0
        with open("notes.txt", "a", encoding="utf-8") as f:
            f.write(line + "\n")
        print(f"noted: {line}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
