#!/usr/bin/env python3
"""A scripted coding agent for the end-to-end tests: it behaves like one (reads the prompt on
stdin, edits files in its working folder, prints its answer and a usage line) and does what its
options say, so every path of the loop can be driven for real.

Options:
  --review approve|changes-once|never   what the reviewer answers (default approve)
  --usage provider|none                 print {"usage": ...} (default) or leave counting to tiktoken
  --output-tokens N                     reported output tokens (default 40)
  --break                               the coder also writes broken.txt (a judge check refuses it)
  --secret                              the coder also writes config.py with an AWS key
  --crash-phase PHASE                   the first time in PHASE, kill the runner (SIGKILL) = a crash
  --hang-phase PHASE                    in PHASE, start a child and sleep (for terminate/timeout)
  --pidfile FILE                        write "PID CHILD_PID" there when hanging
  --once                                hang only the first time
  --no-edit                             the coder answers but changes no file
  --commit                              the coder commits its change itself (git add + commit)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--review", default="approve")
    p.add_argument("--usage", default="provider")
    p.add_argument("--output-tokens", type=int, default=40)
    p.add_argument("--break", dest="brk", action="store_true")
    p.add_argument("--secret", action="store_true")
    p.add_argument("--crash-phase")
    p.add_argument("--hang-phase")
    p.add_argument("--pidfile")
    p.add_argument("--once", action="store_true", help="hang only the first time")
    p.add_argument("--no-edit", action="store_true")
    p.add_argument("--commit", action="store_true")
    args = p.parse_args()

    prompt = sys.stdin.read()
    kind = os.environ.get("OSSA_AGENT_TYPE", "")
    phase = os.environ.get("OSSA_PHASE", "")
    workspace = Path(os.environ.get("OSSA_WORKSPACE", ".agents-workspace"))
    data = workspace / "data"
    data.mkdir(parents=True, exist_ok=True)

    (data / f"prompt-{kind or 'agent'}.txt").write_text(prompt)
    if args.crash_phase == phase:
        marker = data / f"crashed-{phase}"
        if not marker.exists():
            marker.write_text("crashed once\n")
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(0.5)
            return 9
    hung = data / f"hung-{phase}"
    if args.hang_phase and args.hang_phase in (phase, "any") and not (args.once and hung.exists()):
        hung.write_text("hung once\n")
        child = subprocess.Popen(["sleep", "300"])
        if args.pidfile:
            Path(args.pidfile).write_text(f"{os.getpid()} {child.pid}\n")
        time.sleep(300)
        return 0

    if kind == "researcher":
        print("## Plan\n1. Create hello.py with a greet() function.\n2. Add a test.")
    elif kind == "coder" and args.no_edit:
        print("Nothing to change, I think.")
    elif kind == "coder":
        target = Path("hello.py")
        lines = target.read_text().splitlines() if target.exists() else []
        lines.append(f"# round {len(lines) + 1}")
        if not any(line.startswith("def greet") for line in lines):
            lines.insert(0, "def greet(name):\n    return f'hello {name}'\n")
        target.write_text("\n".join(lines) + "\n")
        if args.brk:
            Path("broken.txt").write_text("this breaks the judge\n")
        if args.secret:
            Path("config.py").write_text('AWS_KEY = "AKIA' + 'IOSFODNN7EXAMPLE"\n')
        if args.commit:
            subprocess.run(["git", "add", "hello.py"], check=True)
            subprocess.run(["git", "commit", "-q", "-m", "coder: greet"], check=True)
        print("Changed hello.py: added greet().")
    elif kind == "reviewer":
        counter = data / "fake-reviews"
        n = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(n))
        approve = args.review == "approve" or (args.review == "changes-once" and n > 1)
        if approve:
            print("VERDICT: approve\n- greet() is small and tested")
        else:
            print("VERDICT: request changes\n- greet() needs a docstring")
    else:
        print(f"echo: {prompt.strip()[:200]}")

    if args.usage == "provider":
        words = len(prompt.split())
        print(json.dumps({"usage": {"input_tokens": words, "output_tokens": args.output_tokens}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
