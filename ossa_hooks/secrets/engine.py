"""Secret scanning of what a commit adds: the engine, the ``ossa-secrets`` action, the output.

The staged change is read with one ``git diff --cached`` (raw records and the ``-U0`` patch in
one stream) and parsed here: only the *added* lines of the *staged* blobs are scanned, so a
partially staged file is judged by what will be committed. The scan runs in three steps:

0. a small patch is first looked at with ``bytes.find`` alone: the anchors' literals, their
   character-class tails, a bytes-level "NAME = literal" test. Most commits end here, without
   importing the regex engine;
1. each provider's anchors (cheap literal-prefixed regexes) run once over the whole lower-cased
   patch; the added lines they hit are the candidates (most lines never get further);
2. a candidate line is handed to the providers whose anchor hit it (and whose precheck it
   matches): detect-secrets' ``RegexBasedDetector`` plugins and the extra plugins of
   ``ossa_hooks/secrets/plugins/``, imported on first use only;
3. precision filters drop documented examples, placeholders, digests, UUIDs, colours and
   values read from the environment; the ``pragma: allowlist secret`` comment, the baseline
   and the configured excludes let known findings pass.
"""

from __future__ import annotations

import bisect
import os
import sys

from ossa_hooks import git
from ossa_hooks.errors import OssaError
from ossa_hooks.secrets.plugins import KEYWORD_TARGET
from ossa_hooks.secrets.plugins import PROVIDERS
from ossa_hooks.secrets.plugins import Provider
from ossa_hooks.secrets.plugins import anchor_groups
from ossa_hooks.secrets.plugins import is_config_file
from ossa_hooks.secrets.plugins import quick_anchors

# Hooks import this module: no dataclasses, pathlib or typing at run time (each costs
# milliseconds of the commit's budget).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator
    from collections.abc import Mapping
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any
    from typing import Protocol

    from ossa_hooks.config import Config
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.secrets.baseline import Baseline

    class LineDetector(Protocol):
        def scan_line(self, path: str, line: str) -> Iterable[tuple[str, str]]: ...

PRAGMA = b"pragma: allowlist secret"
PRAGMA_NEXT_LINE = b"pragma: allowlist nextline secret"

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

_LONG_LINE = 4096  # longer added lines are scanned in windows around the anchor hits
_WINDOW = 512
_KEY_BODY = r"[A-Za-z0-9+/=]{40,}"
# A patch smaller than this is first looked at without regular expressions: most commits
# then finish without importing `re` (with its enum, functools and collections: as much time
# as the scan itself).
QUICK_BYTES = 1_000_000


# --- values -----------------------------------------------------------------------------------


def mask(secret: str) -> str:
    """The first characters of ``secret`` (at most 4, at most a third of it), then an ellipsis."""
    keep = min(4, len(secret) // 3)
    return secret[:keep] + "…"


class Finding:
    """One possible secret: where it is, what it looks like; ``secret`` is never printed."""

    __slots__ = ("commit", "kind", "line", "path", "secret")

    def __init__(self, path: str, line: int, kind: str, secret: str,
                 commit: str | None = None) -> None:
        self.path = path
        self.line = line
        self.kind = kind
        self.secret = secret
        self.commit = commit

    def __repr__(self) -> str:
        return f"Finding({self.path}:{self.line}: {self.kind}: {self.masked})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Finding) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, int, str, str, str | None]:
        return (self.path, self.line, self.kind, self.secret, self.commit)

    @property
    def hashed(self) -> str:
        """detect-secrets' ``hashed_secret``: the SHA-1 of the value."""
        import hashlib

        data = self.secret.encode("utf-8", "surrogateescape")
        return hashlib.sha1(data).hexdigest()  # noqa: S324 - detect-secrets' format

    @property
    def masked(self) -> str:
        return mask(self.secret)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "line": self.line, "kind": self.kind,
                                "masked": self.masked}
        if self.commit:
            data["commit"] = self.commit
        return data


class ScanResult:
    """What a scan found and what it could not look at."""

    __slots__ = ("allowed", "binary", "bytes", "files", "findings", "not_files", "paths",
                 "too_large")

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.files = 0
        self.bytes = 0
        self.binary = 0
        self.too_large = 0
        self.not_files = 0  # symlinks and submodules: no content of their own to scan
        self.allowed = 0  # findings let through by the baseline
        self.paths: set[str] = set()

    def merge(self, other: ScanResult) -> None:
        self.findings.extend(other.findings)
        self.files += other.files
        self.bytes += other.bytes
        self.binary += other.binary
        self.too_large += other.too_large
        self.not_files += other.not_files
        self.allowed += other.allowed
        self.paths |= other.paths


class _Entry:
    """One ``--raw`` record: the path, its new mode, the status letter."""

    __slots__ = ("mode", "path", "status")

    def __init__(self, path: str, mode: str, status: str) -> None:
        self.path = path
        self.mode = mode
        self.status = status


# --- detectors ------------------------------------------------------------------------------


class _PluginAdapter:
    """A detect-secrets ``RegexBasedDetector`` seen as a ``LineDetector``.

    detect-secrets reports what ``findall`` returns, which for a pattern such as
    ``(ghp|gho)_[A-Za-z0-9_]{36}`` is the group ("ghp"), not the token. Here the value is the
    longest group (the password of a URL, the key after ``aws_secret_access_key``) unless it
    is a short prefix of the match, then the whole match. Plugins with their own
    ``analyze_string`` (JWT validation) keep it.
    """

    def __init__(self, plugin: Any) -> None:
        from detect_secrets.plugins.base import RegexBasedDetector

        self.plugin = plugin
        self.secret_type = str(plugin.secret_type)
        self.own_analyze = type(plugin).analyze_string is not RegexBasedDetector.analyze_string

    def scan_line(self, path: str, line: str) -> Iterator[tuple[str, str]]:
        if self.own_analyze:
            for value in self.plugin.analyze_string(line):
                if value:
                    yield self.secret_type, str(value)
            return
        for regex in self.plugin.denylist:
            for m in regex.finditer(line):
                spans = [i for i in range(1, (regex.groups or 0) + 1) if m.group(i)]
                best = max(spans, key=lambda i: len(m.group(i)), default=0)
                if best and m.start(best) == m.start() and len(m.group(best)) < 8:
                    best = 0  # a captured prefix such as "ghp": the token is the whole match
                value = m.group(best)
                if value:
                    yield self.secret_type, value


class Engine:
    """The providers, their anchors and prechecks, compiled once; detectors loaded on demand."""

    def __init__(self, *, entropy: bool = True, max_file_size: int = 2_000_000,
                 providers: tuple[Provider, ...] = PROVIDERS) -> None:
        self.providers = providers
        self.entropy = entropy
        self.max_file_size = max_file_size
        # Per group: the literal prefix, the pattern, and for each alternative its pattern and
        # its providers' bits. Compiled on first use (re caches them for the process).
        self.anchors = [
            (literal, pattern, tuple((alt, _bits(ids)) for alt, ids in groups))
            for literal, pattern, groups in anchor_groups(providers)
        ]
        self._bit_lists: dict[int, tuple[int, ...]] = {}
        self._prechecks: dict[int, re.Pattern[bytes]] = {}  # compiled on first use
        self.quick = quick_anchors(providers)
        self._detectors: dict[int, LineDetector] = {}
        # Told how much a large patch holds before it is scanned (the scan command's progress).
        self.progress: Callable[[str], None] | None = None

    def detector(self, index: int) -> LineDetector:
        found = self._detectors.get(index)
        if found is None:
            found = self._detectors[index] = self._load(self.providers[index])
        return found

    def _load(self, provider: Provider) -> LineDetector:
        module_name, _, class_name = provider.target.partition(":")
        if provider.target == KEYWORD_TARGET:
            from ossa_hooks.secrets.plugins.keyword import KeywordDetector

            return KeywordDetector(entropy=self.entropy)
        import importlib

        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except ImportError as e:
            raise OssaError(
                f"cannot load secret detector {provider.target} ({e}): "
                "install detect-secrets (`pip install 'detect-secrets>=1.5'`)"
            ) from None
        return _PluginAdapter(cls())

    def _precheck(self, index: int, lowered: bytes) -> bool:
        pattern = self.providers[index].precheck
        if pattern is None:
            return True
        rx = self._prechecks.get(index)
        if rx is None:
            import re

            rx = self._prechecks[index] = re.compile(pattern)
        return rx.search(lowered) is not None

    def _indexes(self, bits: int) -> tuple[int, ...]:
        found = self._bit_lists.get(bits)
        if found is None:
            found = self._bit_lists[bits] = tuple(_iter_bits(bits))
        return found

    # --- the scan of one patch ---------------------------------------------------------------

    def scan_patch(self, out: bytes, commit: str | None = None) -> ScanResult:
        """Scan the output of ``git diff DIFF_OPTIONS``: raw records, a NUL, the patch."""
        result = ScanResult()
        if not out.strip(b"\0"):
            return result
        sep = out.find(b"\0\0")
        raw, patch = (out, b"") if sep < 0 else (out[:sep], out[sep + 2 :])
        del out  # the caller passes git's output without keeping it: one copy of the patch
        entries = _parse_raw(raw)
        sections: list[_Entry | None] = []
        for e in entries:
            if e.status == "U":
                continue  # an unmerged path has no patch of its own
            if e.status == "T":
                sections.append(None)  # a type change is shown as a deletion, then a creation
            sections.append(e)
        starts = [0] if patch.startswith(b"diff --git ") else []
        starts += _line_starts(patch, b"\ndiff --git ")
        if len(starts) != len(sections):
            raise OssaError(
                f"could not read git's diff output ({len(sections)} files, {len(starts)} patches);"
                " please report this with `git --version`"
            )
        hunk_pos = _line_starts(patch, b"\n@@ -")
        hunk_body: list[int] = []
        hunk_new: list[int] = []
        for pos in hunk_pos:  # "@@ -a[,b] +c[,d] @@ ...": the added lines start at line c
            eol = patch.find(b"\n", pos)
            hunk_body.append((eol if eol >= 0 else len(patch)) + 1)
            plus = patch.find(b" +", pos, eol)
            digits = patch[plus + 2 : eol].split(b" ", 1)[0].split(b",", 1)[0]
            hunk_new.append(int(digits) if digits.isdigit() else 0)
        ends = [*starts[1:], len(patch)]
        skip = [True] * len(sections)
        for i, entry in enumerate(sections):
            if entry is None:
                continue
            if entry.mode in ("120000", "160000"):
                result.not_files += 1
                continue
            start, end = starts[i], ends[i]
            h = bisect.bisect_left(hunk_pos, start)
            first_hunk = hunk_pos[h] if h < len(hunk_pos) and hunk_pos[h] < end else end
            header = patch[start:first_hunk]
            if b"\nBinary files " in header or b"\nGIT binary patch" in header:
                result.binary += 1
                continue
            if first_hunk == end:
                result.files += 1  # a rename or a mode change: nothing added
                result.paths.add(entry.path)
                continue
            if end - first_hunk > self.max_file_size:
                result.too_large += 1
                continue
            result.files += 1
            result.bytes += end - first_hunk
            result.paths.add(entry.path)
            skip[i] = False
        if all(skip):
            return result
        if len(patch) < QUICK_BYTES and not self._may_hold_secrets(patch, starts, sections, skip):
            return result
        if self.progress is not None and result.bytes >= 2_000_000:
            self.progress(f"scanning {result.bytes / 1e6:.1f} MB in {result.files} files…")
        low = patch.lower()
        layout = (starts, skip, sections, hunk_pos, hunk_body, hunk_new)
        middle = _split_point(starts, len(patch)) if len(patch) >= PARALLEL_BYTES else None
        if middle is None:
            found = self._analyze(patch, low, layout, 0, len(patch))
        else:
            found = _in_two_processes(
                lambda: self._analyze(patch, low, layout, 0, middle),
                lambda: self._analyze(patch, low, layout, middle, len(patch)),
            )
        result.findings.extend(Finding(path, line, kind, value, commit)
                               for path, line, kind, value in found)
        return result

    def _analyze(self, patch: bytes, low: bytes, layout: tuple[Any, ...], lo: int,
                 hi: int) -> list[tuple[str, int, str, str]]:
        """(path, line, kind, value) of the secrets on the added lines starting in [lo, hi)."""
        starts, skip, sections, hunk_pos, hunk_body, hunk_new = layout
        out: list[tuple[str, int, str, str]] = []
        candidates = self._candidates(patch, low, lo, hi)
        cur_h, cur_pos, added = -1, 0, 0
        for ls in sorted(candidates):
            sec = bisect.bisect_right(starts, ls) - 1
            if skip[sec]:
                continue
            h = bisect.bisect_right(hunk_body, ls) - 1
            if h < 0 or hunk_pos[h] < starts[sec]:
                continue  # a header line such as "+++ b/path"
            if h != cur_h:
                cur_h, cur_pos, added = h, hunk_body[h], 0
            added += patch.count(b"\n+", cur_pos - 1, ls - 1)
            cur_pos = ls
            entry = sections[sec]
            assert entry is not None
            mask_bits, hits = candidates[ls]
            for kind, value in self._scan_line(patch, low, ls, entry.path, mask_bits, hits):
                out.append((entry.path, hunk_new[h] + added, kind, value))
        return out

    def _may_hold_secrets(self, patch: bytes, starts: list[int],
                          sections: list[_Entry | None], skip: list[bool]) -> bool:
        """False when no added line can hold a secret, found without regular expressions:
        every anchor's literal is looked for, and a hit must pass the anchor's tail (its
        character class) or its quick check. A superset of what the regexes find."""
        low = patch.lower()
        for literal, allowed, count, quick in self.quick:
            pos = low.find(literal)
            while pos >= 0:
                ls = low.rfind(b"\n", 0, pos) + 1
                sec = bisect.bisect_right(starts, ls) - 1
                if patch[ls] == 43 and not skip[sec]:  # an added line of a scanned file
                    end = pos + len(literal)
                    if allowed is not None:
                        tail = low[end : end + count]
                        ok = len(tail) == count and not tail.translate(None, allowed)
                    elif quick == "assignment":
                        entry = sections[sec]
                        ok = _assignment_at(low, ls, end, entry is not None
                                            and is_config_file(entry.path))
                    elif quick == "userinfo":
                        ok = _userinfo_at(low, end)
                    else:
                        ok = True
                    if ok:
                        return True
                pos = low.find(literal, pos + 1)
        return False

    def _candidates(self, patch: bytes, low: bytes, lo: int,
                    hi: int) -> dict[int, tuple[int, list[int]]]:
        """Start of each added line an anchor hit -> (providers bit set, hit offsets)."""
        import re

        found: dict[int, tuple[int, list[int]]] = {}
        rfind = low.rfind
        plus = 43  # "+"
        small = hi - lo < 1_000_000  # on a large patch every prefix is there: skip the look
        for literal, pattern, alternatives in self.anchors:
            if small and low.find(literal, lo, hi) < 0:
                continue  # nothing to compile or run: most groups on a small commit
            several = len(alternatives) > 1
            for m in re.compile(pattern).finditer(low, lo, hi):
                pos = m.start()
                ls = rfind(b"\n", 0, pos) + 1
                if patch[ls] != plus:
                    continue
                if several:
                    # The regex reports the first alternative that matched; others may too
                    # ("sk-ant-…" is both an OpenAI-shaped and an Anthropic anchor).
                    bits = 0
                    for alt, alt_bits in alternatives:
                        if re.compile(alt).match(low, pos):  # re caches the compiled pattern
                            bits |= alt_bits
                else:
                    bits = alternatives[0][1]
                old = found.get(ls)
                if old is None:
                    found[ls] = (bits, [pos])
                else:
                    old[1].append(pos)
                    found[ls] = (old[0] | bits, old[1])
        return found

    def _scan_line(self, patch: bytes, low: bytes, ls: int, path: str, bits: int,
                   hits: list[int]) -> list[tuple[str, str]]:
        le = patch.find(b"\n", ls)
        if le < 0:
            le = len(patch)
        raw = patch[ls + 1 : le]
        if PRAGMA in raw:
            return []
        if ls >= 2:
            prev = patch.rfind(b"\n", 0, ls - 1) + 1
            if patch[prev] == 43 and PRAGMA_NEXT_LINE in patch[prev : ls - 1]:
                return []
        if le - ls > _LONG_LINE:
            pieces = _windows(ls + 1, le, hits)
        else:
            pieces = [(ls + 1, le)]
        found: list[tuple[str, str]] = []
        for a, b in pieces:
            text = patch[a:b].rstrip(b"\r").decode("utf-8", "replace")
            lowered = low[a:b]
            for i in self._indexes(bits):
                if not self._precheck(i, lowered):
                    continue
                for kind, value in self.detector(i).scan_line(path, text):
                    keyword = self.providers[i].target == KEYWORD_TARGET
                    if not keyword and _not_secret(kind, value, text):
                        continue
                    if kind == "Private Key" and not _has_key_body(patch, text, le):
                        continue
                    found.append((kind, value))
        return _dedupe(found)


PARALLEL_BYTES = 4_000_000  # a larger patch is scanned by two processes when two CPUs are free


def _split_point(starts: list[int], size: int) -> int | None:
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


def _in_two_processes(
    first: Callable[[], list[tuple[str, int, str, str]]],
    second: Callable[[], list[tuple[str, int, str, str]]],
) -> list[tuple[str, int, str, str]]:
    """``first()`` in a forked child (it shares the patch with us for free), ``second()`` here;
    both results. Should the child fail, ``first()`` runs here, and raises its error here."""
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
    return [*theirs, *mine]


def _line_starts(data: bytes, marker: bytes) -> list[int]:
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


def _assignment_at(low: bytes, ls: int, end: int, config_file: bool) -> bool:
    """Whether the name around a keyword anchor ending at ``end`` is assigned a literal:
    ``NAME = "…"``, ``"NAME": "…"``, ``NAME => '…'``, ``('NAME', '…')``; a bare value only in
    configuration files and ``export``/``ENV`` lines. A superset of the keyword regexes."""
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
    two = low[end : end + 2]
    if two in (b":=", b"=>"):
        end += 2
    elif two[:1] in (b"=", b":") and two[1:2] not in (b"=", b":"):
        end += 1
    elif two[:1] == b"," and quoted and _after_call(low, ls, end):
        end += 1  # define('NAME', '…'), setenv("NAME", "…")
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
    return config_file or line.startswith(_EXPORTS)


_CALLS = (b"define", b"setenv", b"putenv", b"setdefault", b"set_secret", b"setproperty")


def _after_call(low: bytes, ls: int, end: int) -> bool:
    """Whether the quoted name before ``end`` is the first argument of define/setenv/…"""
    start = low.rfind(b"(", ls, end)
    return start > ls and low[ls:start].rstrip().endswith(_CALLS)


_USERINFO_STOP = b" \t\r\n/'\"{}<>"


def _userinfo_at(low: bytes, end: int) -> bool:
    """``scheme://user:password@``: an ``@`` after ``://`` with a ``:`` before it and none of
    the characters that end a URL's userinfo in between."""
    window = low[end : end + 512]
    at = window.find(b"@")
    if at <= 0:
        return False
    userinfo = window[:at]
    colon = userinfo.find(b":")
    return 0 < colon < len(userinfo) - 1 and userinfo.translate(None, _USERINFO_STOP) == userinfo


def _bits(ids: Iterable[int]) -> int:
    out = 0
    for i in ids:
        out |= 1 << i
    return out


def _iter_bits(bits: int) -> Iterator[int]:
    i = 0
    while bits:
        if bits & 1:
            yield i
        bits >>= 1
        i += 1


def _windows(start: int, end: int, hits: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for h in sorted(hits):
        a, b = max(start, h - _WINDOW), min(end, h + _WINDOW)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _not_secret(kind: str, value: str, line: str) -> bool:
    from ossa_hooks.secrets.plugins.filters import PROVIDER_FILTERS
    from ossa_hooks.secrets.plugins.filters import dropped

    if kind == "Private Key":
        return False  # the value is the armour line itself ("BEGIN RSA PRIVATE KEY")
    return dropped(value, line, PROVIDER_FILTERS)


def _has_key_body(patch: bytes, text: str, le: int) -> bool:
    """A private key block has a body: base64 on the same line (an escaped one-line key) or on
    the next added line (a PEM file). A lone armour line is code that *talks* about keys."""
    import re

    after = text.split("PRIVATE KEY", 1)[-1]
    if re.search(_KEY_BODY, after):
        return True
    nxt_end = patch.find(b"\n", le + 1)
    nxt = patch[le + 1 : nxt_end if nxt_end >= 0 else len(patch)]
    if not nxt.startswith(b"+"):
        return False
    body = nxt[1:].decode("ascii", "replace")
    return bool(re.search(_KEY_BODY, body)) or body.startswith(("Proc-Type:", "Comment:",
                                                               "Version:"))


def _dedupe(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One finding per value on a line; a value inside a longer one (two providers matched the
    same token, one more fully) is dropped."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for kind, value in sorted(found, key=lambda kv: -len(kv[1])):
        if value in seen or any(value in longer for longer in seen):
            continue
        seen.add(value)
        out.append((kind, value))
    return out


def _parse_raw(raw: bytes) -> list[_Entry]:
    """``--raw -z`` records: ``:oldmode newmode oldsha newsha STATUS\\0path\\0[path\\0]``."""
    toks = raw.split(b"\0")
    entries: list[_Entry] = []
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
        entries.append(_Entry(path.decode("utf-8", "replace"), parts[1].decode(), status))
    return entries


# --- what to scan -----------------------------------------------------------------------------


def engine_for(config: Config) -> Engine:
    return Engine(entropy=bool(config.get("secrets.entropy")),
                  max_file_size=int(config.get("secrets.max_file_size")))


def pathspecs(config: Config, files: Sequence[str] = ()) -> list[str]:
    """Git pathspecs: the given files (literal) minus the configured excludes and the baseline."""
    specs = [f":(top,literal){f}" for f in files]
    for pattern in config.get("secrets.exclude"):
        specs.append(f":(top,exclude,glob){_glob(pattern)}")
    specs.append(f":(top,exclude,literal){config.get('secrets.baseline')}")
    return specs


def _glob(pattern: str) -> str:
    """A gitignore-like pattern as a pathspec glob: no slash matches at any depth, a trailing
    slash means a folder."""
    p = pattern.lstrip("/") if pattern.startswith("/") else pattern
    if p.endswith("/"):
        p += "**"
    if "/" not in pattern.rstrip("/"):
        p = "**/" + p
    return p


def scan_staged(repo: git.RepoPaths, config: Config, *, env: Mapping[str, str] | None = None,
                files: Sequence[str] = (), engine: Engine | None = None) -> ScanResult:
    """Scan the added lines of the staged change (what ``git commit`` would record).

    ``env`` is the hook's environment: git points ``GIT_INDEX_FILE`` at a temporary index for
    ``git commit -a`` and ``git commit PATH``, and that index is what will be committed.
    """
    args = ["diff", "--cached", *DIFF_OPTIONS, "--", *pathspecs(config, files)]
    eng = engine or engine_for(config)
    return eng.scan_patch(git.call(args, repo.toplevel_str or ".", env=env).stdout)


def scan_all_files(repo: git.RepoPaths, config: Config, *,
                   engine: Engine | None = None, files: Sequence[str] = ()) -> ScanResult:
    """Scan every file in the index (or ``files`` of it), as if all were being added."""
    empty = git.out(["hash-object", "-t", "tree", "--stdin"], repo.worktree, input=b"")
    args = ["diff", "--cached", *DIFF_OPTIONS, empty, "--", *pathspecs(config, files)]
    eng = engine or engine_for(config)
    return eng.scan_patch(git.call(args, repo.worktree).stdout)


def scan_rev(repo: git.RepoPaths, config: Config, rev: str, *,
             engine: Engine | None = None) -> ScanResult:
    """Scan what each commit of ``rev`` (``A..B``, or one commit) added, commit by commit.

    A merge commit adds nothing of its own here: its parents' commits carry the changes.
    """
    eng = engine or engine_for(config)
    cwd = repo.worktree
    if ".." in rev:
        commits = git.out(["rev-list", "--reverse", rev, "--"], cwd).split()
    else:
        commits = [git.out(["rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}"], cwd)]
    total = ScanResult()
    specs = pathspecs(config)
    for sha in commits:
        out = git.run(["diff-tree", "--root", "--no-commit-id", "-r", *DIFF_OPTIONS, sha, "--",
                       *specs], cwd).stdout
        total.merge(eng.scan_patch(out, commit=sha))
    return total


def scan_paths(paths: Sequence[str], config: Config, *, root: Path | None = None,
               engine: Engine | None = None) -> ScanResult:
    """Scan files on disk (folders recursively, ``.git`` skipped), every line as added."""
    eng = engine or engine_for(config)
    total = ScanResult()
    excludes = [_glob(p) for p in config.get("secrets.exclude")]
    baseline = config.get("secrets.baseline")
    for path in _walk(paths):
        shown = _display(path, root)
        if shown == baseline or _excluded(shown, excludes):
            continue
        try:
            if os.path.islink(path):
                total.not_files += 1
                continue
            size = os.path.getsize(path)
            if size > eng.max_file_size:
                total.too_large += 1
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OssaError(f"{shown}: cannot read: {e.strerror}") from None
        if b"\0" in data[:8000]:
            total.binary += 1
            continue
        total.merge(eng.scan_patch(_as_patch(shown, data)))
    return total


def _walk(paths: Sequence[str]) -> Iterator[str]:
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                for n in sorted(names):
                    yield os.path.join(root, n)
        elif os.path.lexists(p):
            yield p
        else:
            raise OssaError(f"{p}: no such file or folder")


def _display(path: str, root: Path | None) -> str:
    from pathlib import Path

    p = os.path.abspath(path)
    if root is not None:
        try:
            return Path(p).relative_to(root).as_posix()
        except ValueError:
            pass
    return Path(path).as_posix()


def _excluded(path: str, globs: Sequence[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(path, g) or (g.startswith("**/") and fnmatchcase(path, g[3:]))
               for g in globs)


def _as_patch(path: str, data: bytes) -> bytes:
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


# --- the baseline and the report ------------------------------------------------------------


def apply_baseline(result: ScanResult, baseline: Baseline | None) -> None:
    """Drop the findings the baseline already knows; count them as allowed."""
    if baseline is None:
        return
    kept = [f for f in result.findings if not baseline.allows(f)]
    result.allowed += len(result.findings) - len(kept)
    result.findings = kept


def load_baseline(repo: git.RepoPaths, config: Config) -> Baseline | None:
    from ossa_hooks.secrets.baseline import load

    return load(os.path.join(str(repo.worktree), str(config.get("secrets.baseline"))))


HOW_TO_ALLOW = (
    "not a secret? add a `pragma: allowlist secret` comment to its line, exclude the path "
    "under `secrets.exclude` in .ossa-hooks.yaml, or record the current findings with "
    "`ossa-hooks scan --update-baseline` (then commit .secrets.baseline)"
)


def summary(result: ScanResult, where: str) -> str:
    n = len(result.findings)
    files = len({f.path for f in result.findings})
    head = f"{_plural(n, 'possible secret')} in {_plural(files, 'file')}" if n else "no secrets"
    size = f"{result.bytes / 1e6:.1f} MB" if result.bytes >= 100_000 else f"{result.bytes} bytes"
    text = f"{head} ({_plural(result.files, 'file')}, {size} of {where} scanned"
    skipped = []
    if result.binary:
        skipped.append(f"{result.binary} binary")
    if result.too_large:
        skipped.append(f"{result.too_large} over the size limit")
    if result.not_files:
        skipped.append(f"{result.not_files} symlink/submodule")
    if skipped:
        text += "; skipped " + ", ".join(skipped)
    if result.allowed:
        text += f"; {result.allowed} known from the baseline"
    return text + ")"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_text(result: ScanResult) -> list[str]:
    lines = []
    for f in sorted(result.findings, key=lambda f: (f.path, f.line, f.kind)):
        where = f" (commit {f.commit[:12]})" if f.commit else ""
        lines.append(f"{f.path}:{f.line}: {f.kind}: {f.masked}{where}")
    return lines


def hook(ctx: HookContext) -> int:
    """The ``ossa-secrets`` action: refuse the commit when its staged content holds a secret."""
    # A baseline that exists is read on every commit, so a corrupt one is reported at once,
    # not only on the day a candidate secret needs it (a stat when there is none).
    top = ctx.repo.toplevel_str
    has_baseline = top is not None and os.path.exists(
        os.path.join(top, str(ctx.config.get("secrets.baseline"))))
    baseline = load_baseline(ctx.repo, ctx.config) if has_baseline else None
    # `pre-commit run --all-files` passes every tracked file: those are scanned whole.
    if ctx.all_files:
        result = scan_all_files(ctx.repo, ctx.config, files=ctx.filenames)
    else:
        result = scan_staged(ctx.repo, ctx.config, env=ctx.environ or None, files=ctx.filenames)
    if result.findings:
        apply_baseline(result, baseline)
    if not result.findings:
        return 0
    out = sys.stderr
    for line in format_text(result):
        print(line, file=out)
    where = "the files pre-commit passed" if ctx.all_files else "the staged changes"
    print(f"ossa-secrets: {summary(result, where)}: commit refused", file=out)
    print(f"hint: {HOW_TO_ALLOW}", file=out)
    return 1
