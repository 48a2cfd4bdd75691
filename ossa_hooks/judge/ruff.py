"""``ossa-hooks ruff check|format``: the judge's default lint and format checks.

ruff (the project's, else the one beside ossa-hooks: whichever is first on ``PATH``), read-only:
``ruff check --no-fix`` (a project's ``fix = true`` is overridden) and ``ruff format --check``.
With ``OSSA_JUDGE_BASE`` (what the push is compared with, set by the judge) only the Python
files changed since that commit are checked: a push is judged on what it adds, and a ruff newer
than the one the project pins does not refuse every push for files nobody touched. Without a
base (a first push, ``ossa-hooks judge`` with no upstream) the whole tree is checked.

A project with no ruff settings of its own (no ``ruff.toml``/``.ruff.toml``, no ``[tool.ruff]``
in a ``pyproject.toml``) is checked with ruff's classic rule set, pyflakes and pycodestyle's
errors (``E4,E7,E9,F``), and no user-level ruff settings (``--isolated``): newer ruff releases
select hundreds of rules by default (pyupgrade's ``List`` -> ``list`` on a project that still
supports Python 3.8...), which would refuse every push that touches a file of such a project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

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


def changed_python_files(folder: str, base: str) -> list[str] | None:
    """Python files added or changed since ``base`` in the commit checked out in ``folder``;
    None when ``base`` is not a commit there."""
    proc = subprocess.run(["git", "diff", "--name-only", "-z", "--diff-filter=ACMR",
                           "--no-renames", base, "HEAD", "--", "*.py", "*.pyi"],
                          cwd=folder, capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


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
    targets = files if files is not None else ["."]
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
    return subprocess.run(argv, cwd=folder, check=False).returncode
