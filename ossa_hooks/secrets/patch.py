"""git's diff output as the scanner reads it: the options, the raw records, line offsets,
bytes-level pre-checks, and the split of a large patch between two processes."""

from __future__ import annotations

import bisect
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# Options that make `git diff` output the same whatever the user's configuration says
# (prefixes, colours, external diff drivers, textconv, submodule logs, merged hunks).
DIFF_OPTIONS = (
    "--raw",
    "-z",
    "-p",
    "-U0",
    "--inter-hunk-context=0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--submodule=short",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--no-relative",
    "--diff-filter=d",
)

class Entry:
    """One ``--raw`` record: the path, its new mode, the status letter."""

    __slots__ = ("mode", "path", "status")

    def __init__(self, path: str, mode: str, status: str) -> None:
        self.path = path
        self.mode = mode
        self.status = status


PARALLEL_BYTES = 4_000_000  # a larger patch is scanned by two processes when two CPUs are free


def split_point(starts: list[int], size: int) -> int | None:
    """The file boundary nearest the middle of the patch, or None for one process."""
    if not hasattr(os, "fork") or len(starts) < 2:
        return None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return None
    i = bisect.bisect_left(starts, size // 2)
    i = min(max(i, 1), len(starts) - 1)
    return starts[i]


def in_two_processes(
    first: Callable[[], list[tuple[str, int, str, str]]],
    second: Callable[[], list[tuple[str, int, str, str]]],
) -> list[tuple[str, int, str, str]]:
    """``first()`` in a forked child (it shares the patch with us for free), ``second()`` here;
    both results, concatenated."""
    theirs, mine = fork_pair(first, second)
    return [*theirs, *mine]


def fork_pair(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """``first()`` in a forked child, ``second()`` here: both results (``first``'s must be
    marshal-able). Should the child fail, ``first()`` runs here, and raises its error here."""
    import marshal

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never flushes the parent's buffers
        code = 1
        try:
            os.close(r)
            data = marshal.dumps(first())
            with os.fdopen(w, "wb") as f:
                f.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    try:
        mine = second()
    finally:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
    theirs = marshal.loads(data) if status == 0 and data else first()  # noqa: S302 - our child
    return theirs, mine


def line_starts(data: bytes, marker: bytes) -> list[int]:
    """Offsets of the lines that begin with ``marker`` (which starts with a newline)."""
    out = []
    pos = data.find(marker)
    while pos >= 0:
        out.append(pos + 1)
        pos = data.find(marker, pos + 1)
    return out


_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_.-$") | frozenset(range(128, 256))
_SPACE = b" \t"
_QUOTES = b"\"'`"
_EXPORTS = (b"export ", b"set ", b"env ", b"arg ")


def assignment_at(low: bytes, ls: int, end: int, config_file: bool) -> bool:
    """Whether the name around a keyword anchor ending at ``end`` may be assigned a literal:
    ``NAME = "…"``, ``"NAME": "…"``, ``NAME => '…'``, ``('NAME', '…')``, ``var NAME string =``,
    ``NAME ?= / ::= / .=``, ``<NAME>…``; a bare value in configuration files, ``export``/``ENV``
    lines, or when it is long enough to be generated. A superset of the keyword regexes."""
    n = len(low)
    while end < n and low[end] in _NAME_BYTES:
        end += 1
    quoted = False
    for _ in range(3):
        if end < n and low[end] in b"\"'`]":
            quoted = quoted or low[end] != 93
            end += 1
    while end < n and low[end] in _SPACE:
        end += 1
    if end < n and low[end] not in b"=:?.,+>" and end > 0 and low[end - 1] in _SPACE:
        # a type between the name and the operator: var token string = "…"
        while end < n and low[end] in _NAME_BYTES:
            end += 1
        while end < n and low[end] in _SPACE:
            end += 1
    three = low[end : end + 4]
    if three.startswith((b":::=", b"??=", b"::=", b":=", b"=>", b"?=", b".=", b"+=")):
        end += three.index(b"=") + (2 if three.startswith(b"=>") else 1)
    elif three[:1] in (b"=", b":") and three[1:2] not in (b"=", b":"):
        end += 1
    elif three[:1] == b"," and quoted and _after_call(low, ls, end):
        end += 1  # define('NAME', '…'), setenv("NAME", "…")
    elif three[:1] == b">" and low[ls + 1 : end].lstrip().startswith(b"<"):
        return True  # <passwordToken>value</passwordToken>, maybe on the next line
    else:
        return False
    while end < n and low[end] in _SPACE:
        end += 1
    for _ in range(2):
        if end < n and low[end] in b"rbuf" and low[end + 1 : end + 2] in (b"'", b'"'):
            end += 1
    if end < n and low[end] in _QUOTES:
        return True
    if end >= n or low[end] in b"\r\n":
        return False
    line = low[ls + 1 : ls + 20].lstrip()
    if config_file or line.startswith(_EXPORTS):
        return True
    stop = end
    while stop < n and low[stop] not in _BARE_STOP:
        stop += 1
    # A bare value in code counts only when it looks generated: long, with digits in it.
    run = low[end:stop]
    return len(run) >= 16 and run.translate(None, b"0123456789") != run


_BARE_STOP = frozenset(b" \t\r\n\"'`,;#(){}[]\\")


_CALLS = (b"define", b"setenv", b"putenv", b"setdefault", b"set_secret", b"setproperty")


def _after_call(low: bytes, ls: int, end: int) -> bool:
    """Whether the quoted name before ``end`` is the first argument of define/setenv/…"""
    start = low.rfind(b"(", ls, end)
    return start > ls and low[ls:start].rstrip().endswith(_CALLS)


_USERINFO_STOP = b" \t\r\n/'\"{}<>"


def userinfo_at(low: bytes, end: int) -> bool:
    """``scheme://user:password@``: an ``@`` after ``://`` with a ``:`` before it and none of
    the characters that end a URL's userinfo in between."""
    window = low[end : end + 512]
    at = window.find(b"@")
    if at <= 0:
        return False
    userinfo = window[:at]
    colon = userinfo.find(b":")
    return 0 < colon < len(userinfo) - 1 and userinfo.translate(None, _USERINFO_STOP) == userinfo


def parse_raw(raw: bytes) -> list[Entry]:
    """``--raw -z`` records: ``:oldmode newmode oldsha newsha STATUS\\0path\\0[path\\0]``."""
    toks = raw.split(b"\0")
    entries: list[Entry] = []
    i = 0
    while i < len(toks):
        meta = toks[i]
        if not meta.startswith(b":"):
            i += 1
            continue
        parts = meta[1:].split(b" ")
        status = parts[4][:1].decode() if len(parts) > 4 else "M"
        if status in ("R", "C"):
            path, i = toks[i + 2], i + 3
        else:
            path, i = toks[i + 1], i + 2
        entries.append(Entry(path.decode("utf-8", "replace"), parts[1].decode(), status))
    return entries


def as_patch(path: str, data: bytes) -> bytes:
    """A file's content dressed as git's output for a new file, so one parser serves both."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return b""
    name = path.encode("utf-8", "surrogateescape")
    body = b"".join(b"+" + line + b"\n" for line in lines)
    return (b":000000 100644 0 0 A\0" + name + b"\0\0diff --git a/x b/x\nnew file mode 100644\n"
            b"--- /dev/null\n+++ b/x\n@@ -0,0 +1," + str(len(lines)).encode() + b" @@\n" + body)

