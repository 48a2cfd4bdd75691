"""Rules on configuration VALUES (``config.py`` checks the types): each rule takes a value of
the right type and returns the problem in a few words, or None.

A schema leaf names its rule (``Scalar(..., rule="ref_pattern")``); this module is imported
only when a configuration file is validated, never on a hook's cached path.
"""

from __future__ import annotations

import math
import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# The configuration format this release reads (``version:`` in .ossa-hooks.yaml).
SUPPORTED_VERSION = 1

PLACEHOLDERS = ("base", "date")


def number(value: float, minimum: float | None, above: bool) -> str | None:
    """A finite number, at least ``minimum`` (greater than it when ``above``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if minimum is None:
        return None
    if above and not value > minimum:
        return f"must be greater than {minimum:g} (got {value:g})"
    if not above and value < minimum:
        return f"must be {minimum:g} or more (got {value:g})"
    return None


def version(value: int) -> str | None:
    if value < 1:
        return f"must be 1 or more (got {value})"
    if value > SUPPORTED_VERSION:
        return (f"{value} is newer than this release of ossa-hooks reads (version"
                f" {SUPPORTED_VERSION}): upgrade ossa-hooks, or write version: {SUPPORTED_VERSION}")
    return None


def command(value: str) -> str | None:
    """A command to run: not empty (an empty command would "pass" without checking anything)."""
    if not value.strip():
        return "must not be empty (give the command to run, or set enabled: false)"
    return None


# git check-ref-format's rules for a branch name (a component cannot start with '.' nor end
# with '.lock'; no '..', '@{', '//', control characters, space, ~ ^ : ? * [ \).
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def ref_problem(name: str) -> str | None:
    """Why ``name`` is not a valid branch name, or None."""
    if not name:
        return "is empty"
    if _BAD_REF_CHARS.search(name):
        return "has a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name or "@{" in name or "//" in name or name == "@":
        return "contains '..', '@{' or '//'"
    if name.startswith("/") or name.endswith(("/", ".")):
        return "starts with '/' or ends with '/' or '.'"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return "has a part that starts with '.' or ends with '.lock'"
    return None


def ref_pattern(value: str) -> str | None:
    """A branch name pattern with ``{base}`` and ``{date}``: known placeholders, and a valid
    branch name once they are filled in."""
    import string

    try:
        fields = list(string.Formatter().parse(value))
    except ValueError as e:
        return f"bad placeholder ({e}); use {{base}} and {{date}}"
    for _text, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            return (f"unknown placeholder {{{name}}}; use {{base}} and {{date}}" if name
                    not in PLACEHOLDERS else "placeholders take no format: use {base}, {date}")
    filled = value.format_map({"base": "main", "date": "20260101"})
    problem = ref_problem(filled)
    return f"gives {filled!r}, not a valid branch name: it {problem}" if problem else None


def branch(value: str) -> str | None:
    problem = ref_problem(value.removeprefix("refs/heads/"))
    return f"{value!r} is not a valid branch name: it {problem}" if problem else None


def inside_repository(value: str) -> str | None:
    """A folder given relative to the repository that stays inside it."""
    if not value.strip():
        return "must not be empty (for example: .worktrees)"
    if value.startswith("~") or os.path.isabs(value):
        return (f"{value!r} is outside the repository: give a folder relative to the"
                " repository (for example: .worktrees)")
    norm = os.path.normpath(value)
    if norm == "." or norm == ".." or norm.startswith("../"):
        return (f"{value!r} is not a folder inside the repository: give one relative to the"
                " repository (for example: .worktrees)")
    return None


def single_line(value: str) -> str | None:
    if any(c in value for c in "\n\r\0"):
        return "must be one line (a pattern cannot hold a line break)"
    return None


# Paths of every kind a repository has: a pattern matching all of them excludes everything.
_SAMPLE_PATHS = ("a", "README.md", ".env", "src/app/main.py", "deep/er/still/x.txt",
                 ".github/workflows/ci.yml", "Makefile")


def _glob_regex(glob: str) -> re.Pattern[str]:
    """A pathspec glob (``**`` crosses folders, ``*`` and ``?`` do not) as a regex."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + "(?:/.*)?")


def not_everything(value: str) -> str | None:
    """A secrets exclude: one line, and not a pattern that leaves nothing to scan."""
    problem = single_line(value)
    if problem:
        return problem
    if not value.strip():
        return "must not be empty"
    p = value.lstrip("/")
    if p.endswith("/"):
        p += "**"
    if "/" not in value.rstrip("/"):
        p = "**/" + p
    regex = _glob_regex(p)
    if all(regex.fullmatch(path) for path in _SAMPLE_PATHS):
        return (f"{value!r} matches every file: nothing would be scanned (to turn the scan"
                " off, remove ossa-secrets from hooks.pre-commit)")
    return None


RULES: dict[str, Callable[[Any], str | None]] = {
    "version": version,
    "command": command,
    "ref_pattern": ref_pattern,
    "branch": branch,
    "inside_repository": inside_repository,
    "single_line": single_line,
    "not_everything": not_everything,
}


def check(rule: str | None, value: Any, minimum: float | None, above: bool) -> str | None:
    """The problem with ``value`` under a leaf's ``rule`` and bounds, or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problem = number(value, minimum, above)
        if problem:
            return problem
    if rule is None:
        return None
    return RULES[rule](value)
