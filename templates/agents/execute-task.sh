#!/bin/sh
# Runs this task's whole 360° loop: plan, execute, review, judge, learn, govern.
# Written by `ossa-hooks spawn`. Pass --resume to continue after a crash or Ctrl-C.
# Exit 0: the task succeeded; 1: it failed or escalated (see `ossa-hooks workflow status`).
set -eu
cd "$(dirname "$0")/.."
if command -v ossa-hooks > /dev/null 2>&1; then
    exec ossa-hooks workflow run "$@"
fi
exec @PYTHON@ -m ossa_hooks workflow run "$@"
