"""``ossa-hooks bandit``: the judge's default security check.

bandit (the project's, else the one beside ossa-hooks: whichever is first on ``PATH``) with
the project's own configuration when it has one (``[tool.bandit]`` in ``pyproject.toml``, or
``.bandit``); otherwise medium severity and up, with B101 (``assert``) skipped in test files
(pytest's naming: ``test_*.py``, ``*_test.py``, ``conftest.py``, anywhere in the tree). Every
finding is printed on one line, ``path:line: ID [SEVERITY/CONFIDENCE] text``; exit 1 when there
is one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence

# Never scanned: environments and worktrees inside the project.
EXCLUDES = ("./.git", "./.venv", "./venv", "./.worktrees", "./.tox", "./.nox", "./build",
            "./node_modules")
DEFAULT_SEVERITY = "medium"


def project_config(folder: str) -> tuple[list[str], str]:
    """bandit's arguments for the project's configuration in ``folder``, and a description."""
    pyproject = os.path.join(folder, "pyproject.toml")
    try:
        with open(pyproject, encoding="utf-8", errors="replace") as f:
            if any(line.strip().startswith("[tool.bandit") for line in f):
                return ["-c", "pyproject.toml"], "the project's pyproject.toml [tool.bandit]"
    except OSError:
        pass
    if os.path.isfile(os.path.join(folder, ".bandit")):
        return ["--ini", ".bandit"], "the project's .bandit"
    return (["--severity-level", DEFAULT_SEVERITY],
            "defaults: medium severity and up, B101 skipped in test files")


def is_test_file(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")
                                     or name == "conftest.py")


def scan(targets: Sequence[str] = (), folder: str = ".") -> int:
    # The first on PATH (the judge puts the project's environment first), else the one
    # installed beside ossa-hooks.
    exe = shutil.which("bandit") or shutil.which("bandit", path=os.path.dirname(sys.executable))
    if exe is None:
        print("bandit is not installed (not found on PATH); install it: pip install bandit")
        return 127
    config, described = project_config(folder)
    defaults = config[0] == "--severity-level"
    with tempfile.TemporaryDirectory(prefix="ossa-bandit-") as tmp:
        out = os.path.join(tmp, "report.json")
        argv = [exe, "-q", "-r", *(targets or ["."]), *config, "-x", ",".join(EXCLUDES),
                "-f", "json", "-o", out]
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
        try:
            with open(out, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError):
            sys.stdout.write(proc.stdout + proc.stderr)
            print(f"bandit failed (exit {proc.returncode}) without a report")
            return proc.returncode or 2
    findings = []
    for item in report.get("results", []):
        path = str(item.get("filename", "")).removeprefix("./")
        if defaults and item.get("test_id") == "B101" and is_test_file(path):
            continue
        findings.append(f"{path}:{item.get('line_number')}: {item.get('test_id')} "
                        f"[{item.get('issue_severity')}/{item.get('issue_confidence')}] "
                        f"{item.get('issue_text')}")
    for error in report.get("errors", []):
        print(f"{str(error.get('filename', '')).removeprefix('./')}: not scanned: "
              f"{error.get('reason')}")
    for line in findings:
        print(line)
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    print(f"bandit: {count} ({described})")
    return 1 if findings else 0
