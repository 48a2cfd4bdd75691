"""``ossa-hooks ruff check|format``: the judge's default lint and format checks.

ruff (the project's, else the one beside ossa-hooks: whichever is first on ``PATH``), read-only:
``ruff check --no-fix`` (a project's ``fix = true`` is overridden) and ``ruff format --check``.
With ``OSSA_JUDGE_BASE`` (what the push is compared with, set by the judge) only the Python
files changed since that commit are checked: a push is judged on what it adds, and a ruff newer
than the one the project pins does not refuse every push for files nobody touched. Without a
base (a first push, ``ossa-hooks judge`` with no upstream) the whole tree is checked.

``check`` with a base counts only the findings the push adds: each changed file is also checked
as it was at the base (``--stdin-filename``: the same settings), and a finding counts when the
file had fewer of that rule and message before (line numbers may move). The others are listed
``(unchanged since BASE, not counted)``: touching a file does not make its author answer for
findings older than the push, and an unused import left by a change elsewhere in the file counts.
``format`` with a base likewise counts the changed files the push leaves unformatted that were
formatted at the base (or are new); one that was unformatted before is listed, not counted.

A project with no ruff settings of its own (no ``ruff.toml``/``.ruff.toml``, no ``[tool.ruff]``
in a ``pyproject.toml``) is checked with ruff's classic rule set, pyflakes and pycodestyle's
errors (``E4,E7,E9,F``), and no user-level ruff settings (``--isolated``): newer ruff releases
select hundreds of rules by default (pyupgrade's ``List`` -> ``list`` on a project that still
supports Python 3.8...), which would refuse every push that touches a file of such a project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from typing import Any

COMMANDS = {"check": ["check", "--no-fix"], "format": ["format", "--check"]}
CLASSIC_RULES = "E4,E7,E9,F"  # ruff's default selection before it grew (pyflakes + E errors)
CONFIG_NAMES = ("ruff.toml", ".ruff.toml", "pyproject.toml")


def project_configured(folder: str) -> bool:
    """True when the commit checked out in ``folder`` has ruff settings anywhere in its tree
    (a ``ruff.toml``/``.ruff.toml``, or a ``pyproject.toml`` with a ``[tool.ruff`` table)."""
    proc = subprocess.run(["git", "ls-files", "-z", "--", *(f"*{n}" for n in CONFIG_NAMES)],
                          cwd=folder, capture_output=True, check=False)
    if proc.returncode != 0:
        return True  # not a git checkout: leave ruff to find its settings
    for path in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        name = os.path.basename(path)
        if name in ("ruff.toml", ".ruff.toml"):
            return True
        if name == "pyproject.toml":
            try:
                with open(os.path.join(folder, path), encoding="utf-8", errors="replace") as f:
                    if any(line.lstrip().startswith("[tool.ruff") for line in f):
                        return True
            except OSError:
                continue
    return False


def changed_python_files(folder: str, base: str) -> dict[str, str | None] | None:
    """Python files added or changed since ``base`` in the commit checked out in ``folder``,
    each with its path at the base (None for a new file); None when ``base`` is not a commit
    there."""
    proc = subprocess.run(["git", "diff", "--name-status", "-z", "--diff-filter=ACMR", "-M",
                           base, "HEAD", "--", "*.py", "*.pyi"],
                          cwd=folder, capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    fields = iter(proc.stdout.decode("utf-8", "surrogateescape").split("\0"))
    files: dict[str, str | None] = {}
    for status in fields:
        if not status:
            continue
        path = next(fields)
        if status[0] == "R":
            files[next(fields)] = path
        else:
            files[path] = path if status[0] == "M" else None
    return files


def findings(argv: list[str], folder: str, stdin: bytes | None = None) -> list[dict[str, Any]]:
    """ruff's findings (``--output-format json``); raises RuntimeError when ruff gave none."""
    proc = subprocess.run([*argv, "--output-format", "json"], cwd=folder,
                          input=stdin, capture_output=True, check=False)
    try:
        found = json.loads(proc.stdout or b"[]")
    except ValueError:
        found = None
    if proc.returncode not in (0, 1) or not isinstance(found, list):
        raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip()
                           or f"ruff exited {proc.returncode}")
    return found


def relative(finding: dict[str, Any], root: str) -> str:
    """The finding's path relative to ``root`` (a real path), as git names it."""
    return os.path.relpath(os.path.realpath(str(finding.get("filename", ""))), root)


def key(finding: dict[str, Any], path: str) -> tuple[str, str, str]:
    return path, str(finding.get("code") or "syntax-error"), str(finding.get("message", ""))


def describe(finding: dict[str, Any], path: str) -> str:
    where = finding.get("location") or {}
    code, message = key(finding, path)[1:]
    return f"{path}:{where.get('row', 0)}:{where.get('column', 0)}: {code} {message}"


def check_new(exe: str, options: list[str], files: dict[str, str | None], base: str,
              folder: str) -> int:
    """``ruff check`` of ``files`` counting only the findings that were not there at ``base``."""
    root = os.path.realpath(folder)
    argv = [exe, *options, "--force-exclude"]
    try:
        after = findings([*argv, *files], folder)
        flagged = {relative(f, root) for f in after}
        before: Counter[tuple[str, str, str]] = Counter()
        for path, origin in files.items():
            if origin is None or path not in flagged:  # new, or nothing to compare
                continue
            old = subprocess.run(["git", "cat-file", "blob", f"{base}:{origin}"], cwd=folder,
                                 capture_output=True, check=False)
            if old.returncode == 0:
                before.update(key(f, path) for f in findings(
                    [*argv, "--stdin-filename", path, "-"], folder, old.stdout))
    except RuntimeError as error:
        print(f"ruff failed: {error}")
        return 2
    new, unchanged = [], []
    for finding in after:
        path = relative(finding, root)
        if before[key(finding, path)] > 0:
            before[key(finding, path)] -= 1
            unchanged.append(describe(finding, path))
        else:
            new.append(describe(finding, path))
    for line in new:
        print(line)
    for line in unchanged:
        print(f"(unchanged since {base[:10]}, not counted) {line}")
    print(f"ruff: {len(new)} new finding(s) in the files changed since {base[:10]}"
          + (f", {len(unchanged)} there before" if unchanged else ""))
    return 1 if new else 0


def format_new(exe: str, options: list[str], files: dict[str, str | None], base: str,
               folder: str) -> int:
    """``ruff format --check`` of ``files`` counting only the files the push leaves unformatted
    that were formatted at ``base`` (or are new): a file that was unformatted before is listed,
    not counted."""
    argv = [exe, *options, "--force-exclude"]
    whole = subprocess.run([*argv, *files], cwd=folder, capture_output=True, check=False)
    if whole.returncode == 0:
        print(f"ruff format: the {len(files)} file(s) changed since {base[:10]} are formatted")
        return 0
    new, unchanged = [], []
    for path, origin in files.items():
        proc = subprocess.run([*argv, path], cwd=folder, capture_output=True, check=False)
        if proc.returncode == 0:
            continue
        if proc.returncode != 1:
            print(f"ruff failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
            return 2
        if origin is not None:
            old = subprocess.run(["git", "cat-file", "blob", f"{base}:{origin}"], cwd=folder,
                                 capture_output=True, check=False)
            was = subprocess.run([*argv, "--stdin-filename", path, "-"], cwd=folder,
                                 input=old.stdout, capture_output=True, check=False)
            if old.returncode == 0 and was.returncode == 1:
                unchanged.append(path)
                continue
        new.append(path)
    for path in new:
        print(f"would reformat: {path}")
    for path in unchanged:
        print(f"(unformatted at {base[:10]} too, not counted) {path}")
    print(f"ruff format: {len(new)} file(s) changed since {base[:10]} left unformatted"
          + (f", {len(unchanged)} unformatted before" if unchanged else "")
          + (" (ruff format FILE fixes them)" if new else ""))
    return 1 if new else 0


def run(mode: str, folder: str = ".") -> int:
    exe = shutil.which("ruff") or shutil.which("ruff", path=os.path.dirname(sys.executable))
    if exe is None:
        print("ruff is not installed (not found on PATH); install it: pip install ruff")
        return 127
    base = os.environ.get("OSSA_JUDGE_BASE", "")
    files = changed_python_files(folder, base) if base else None
    if files is not None and not files:
        print(f"ruff {mode}: no Python file changed since {base[:10]}")
        return 0
    targets = list(files) if files is not None else ["."]
    # Files named on the command line are checked even when the project excludes them,
    # unless --force-exclude.
    options = list(COMMANDS[mode])
    if mode == "check" and not project_configured(folder):
        options += ["--isolated", "--select", CLASSIC_RULES]
    argv = [exe, *options, "--force-exclude", *targets]
    scope = f" ({len(targets)} file(s) changed since {base[:10]})" if files is not None else ""
    print(f"$ ruff {' '.join(options)}{' .' if files is None else ''}{scope}", flush=True)
    if "--isolated" in options:
        print("(no ruff settings in this project: ruff's classic rules, pyflakes and "
              "pycodestyle's errors)", flush=True)
    if mode == "check" and files is not None:
        return check_new(exe, options, files, base, folder)
    if mode == "format" and files is not None:
        return format_new(exe, options, files, base, folder)
    return subprocess.run(argv, cwd=folder, check=False).returncode
