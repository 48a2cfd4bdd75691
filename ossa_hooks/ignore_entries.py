"""Entries of an ignore file (a ``.gitignore``, the common ``info/exclude``): which of them it
lacks, and appending those under one header, never twice. Ground: the commit guard's required
entries (:mod:`ossa_hooks.gitignore`) and the worktree folders kept out of ``git status``
(:mod:`ossa_hooks.worktree.create`) both write through it."""

from __future__ import annotations

import os

from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    StrPath = str | os.PathLike[str]

GITIGNORE_HEADER = "# ossa-hooks: never commit these"


def _read(path: StrPath) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""
    except OSError as e:
        raise OssaError(f"{os.fspath(path)}: cannot read: {e.strerror}") from None


def _lines(path: StrPath) -> list[str]:
    data = _read(path)
    return [line.strip() for line in data.decode("utf-8", "surrogateescape").splitlines()]


def missing_entries(path: StrPath, entries: Sequence[str]) -> list[str]:
    """The ``entries`` that ``path`` (a ``.gitignore``) lacks, in their order.

    A negation (``!x``) counts only when it comes after the last line of every non-negated
    entry listed before it: an earlier ``!.env.example`` does not re-include what a later
    ``.env.*`` excludes. An entry listed twice counts once, where it is first listed.
    """
    lines = _lines(path)
    last = {line: i for i, line in enumerate(lines)}
    missing: list[str] = []
    before = -1  # the last line of the positive entries seen so far
    seen: set[str] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry or entry in seen:
            continue
        seen.add(entry)
        at = last.get(entry)
        if entry.startswith("!"):
            if at is None or at < before:
                missing.append(entry)
            continue
        if at is None:
            missing.append(entry)
            before = len(lines)  # will be appended after everything there
        else:
            before = max(before, at)
    return missing


def add_gitignore_entries(path: StrPath, entries: Sequence[str]) -> list[str]:
    """Append the ``entries`` missing from ``path`` under one header; return what was added.

    Running it again adds nothing: an entry already present is never written twice (except a
    negation that must follow a newly added entry to keep its effect).
    """
    missing = missing_entries(path, entries)
    if not missing:
        return []
    data = _read(path)
    header = [] if GITIGNORE_HEADER in _lines(path) else [GITIGNORE_HEADER]
    block = "\n".join([*header, *missing])
    sep = b"" if not data or data.endswith(b"\n") else b"\n"
    try:
        with open(path, "ab") as f:
            f.write(sep + block.encode("utf-8", "surrogateescape") + b"\n")
    except OSError as e:
        raise OssaError(f"{os.fspath(path)}: cannot write: {e.strerror}") from None
    return missing
