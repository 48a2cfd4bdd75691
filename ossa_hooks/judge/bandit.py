"""``ossa-hooks bandit``: the judge's default security check.

bandit (the project's, else the one beside ossa-hooks: whichever is first on ``PATH``) with
the project's own configuration when it has one (``[tool.bandit]`` in ``pyproject.toml``, or
``.bandit``); otherwise medium severity and up, with B101 (``assert``) skipped in test files
(pytest's naming: ``test_*.py``, ``*_test.py``, ``conftest.py``, anywhere in the tree). Every
finding is printed on one line, ``path:line: ID [SEVERITY/CONFIDENCE] text``; exit 1 when there
is one.

With ``OSSA_JUDGE_BASE`` (the judge sets it to what the push is compared with), only findings
in lines changed since that commit count: a push adds no new finding, and what was there before
(``shell=True`` in click's pager, say) is listed as unchanged but does not refuse the push.
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
    base = os.environ.get("OSSA_JUDGE_BASE", "")
    changed = changed_lines(folder, base) if base else None
    findings, unchanged = [], []
    for item in report.get("results", []):
        path = str(item.get("filename", "")).removeprefix("./")
        if defaults and item.get("test_id") == "B101" and is_test_file(path):
            continue
        line = (f"{path}:{item.get('line_number')}: {item.get('test_id')} "
                f"[{item.get('issue_severity')}/{item.get('issue_confidence')}] "
                f"{item.get('issue_text')}")
        lines = set(item.get("line_range") or [item.get("line_number")])
        if changed is not None and not lines & changed.get(path, set()):
            unchanged.append(line)
        else:
            findings.append(line)
    for error in report.get("errors", []):
        print(f"{str(error.get('filename', '')).removeprefix('./')}: not scanned: "
              f"{error.get('reason')}")
    for line in findings:
        print(line)
    for line in unchanged:
        print(f"(unchanged since {base[:10]}, not counted) {line}")
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    scope = f" in lines changed since {base[:10]}" if changed is not None else ""
    print(f"bandit: {count}{scope} ({described})")
    return 1 if findings else 0


def changed_lines(folder: str, base: str) -> dict[str, set[int]] | None:
    """Lines added or changed since ``base`` in the commit checked out in ``folder``, by path;
    None when ``base`` is not a commit there (then every finding counts)."""
    proc = subprocess.run(["git", "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
                           base, "HEAD", "--", "*.py"], cwd=folder, capture_output=True,
                          check=False)
    if proc.returncode != 0:
        return None
    found: dict[str, set[int]] = {}
    path = ""
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else ""
        elif line.startswith("@@") and path:
            new = line.split("+", 1)[1].split(" ", 1)[0]
            start, _, count = new.partition(",")
            first, n = int(start), int(count) if count else 1
            found.setdefault(path, set()).update(range(first, first + n))
    return found
