"""The scan of one patch: providers' anchors over the whole diff, detectors on the hit lines.

The patch is git's ``diff --raw -z -p -U0`` output (``patch.py`` reads its layout); only
*added* lines are scanned. The scan runs in three steps:

0. a small patch is first looked at with ``bytes.find`` alone: the anchors' literals, their
   character-class tails, a bytes-level "NAME = literal" test. Most commits end here, without
   importing the regex engine;
1. each provider's anchors (cheap literal-prefixed regexes, or plain keywords of the rule set)
   run once over the whole lower-cased patch; the added lines they hit are the candidates;
2. a candidate line is handed to the providers whose anchor hit it: the rule set
   (``rules/*.toml``), detect-secrets' plugins, the keyword detector, imported on first use;
3. precision filters drop documented examples, placeholders, digests and values read from the
   environment; pragmas (``pragma: allowlist secret``, ``gitleaks:allow``) let a line pass.
"""

from __future__ import annotations

import bisect

from ossa_hooks.errors import OssaError
from ossa_hooks.secrets.allow import line_allowed
from ossa_hooks.secrets.anchors import RULES_TARGET
from ossa_hooks.secrets.anchors import Anchors
from ossa_hooks.secrets.anchors import rules_providers
from ossa_hooks.secrets.patch import PARALLEL_BYTES
from ossa_hooks.secrets.patch import Entry
from ossa_hooks.secrets.patch import in_two_processes
from ossa_hooks.secrets.patch import line_starts
from ossa_hooks.secrets.patch import parse_raw
from ossa_hooks.secrets.patch import split_point
from ossa_hooks.secrets.plugins import KEYWORD_TARGET
from ossa_hooks.secrets.plugins import PROVIDERS
from ossa_hooks.secrets.plugins import Provider

# Hooks import this module: no dataclasses, pathlib or typing at run time (each costs
# milliseconds of the commit's budget).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator
    from typing import Any
    from typing import Protocol

    from ossa_hooks.secrets.ruleset import RuleSet

    class LineDetector(Protocol):
        def scan_line(self, path: str, line: str) -> Iterable[tuple[str, str]]: ...


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
                 providers: tuple[Provider, ...] = PROVIDERS,
                 rules: RuleSet | None = None) -> None:
        from ossa_hooks.secrets.ruleset import default_rules

        self.rules = default_rules() if rules is None else rules
        providers = (*providers, *rules_providers(self.rules))
        self.providers = providers
        self.entropy = entropy
        self.max_file_size = max_file_size
        self.index = Anchors(providers)  # where the candidate lines are
        self._bit_lists: dict[int, tuple[int, ...]] = {}
        self._prechecks: dict[int, re.Pattern[bytes]] = {}  # compiled on first use
        self._detectors: dict[int, LineDetector] = {}
        # Told how much a large patch holds before it is scanned (the scan command's progress).
        self.progress: Callable[[str], None] | None = None
        # A ``.gitleaks.toml``'s global allowlists (anything with ``drops(finding)``).
        self.allowlist: Any = None

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
        if provider.target == RULES_TARGET:
            from ossa_hooks.secrets.detectors import RuleDetector

            return RuleDetector(self.rules)
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
        entries = parse_raw(raw)
        sections: list[Entry | None] = []
        for e in entries:
            if e.status == "U":
                continue  # an unmerged path has no patch of its own
            if e.status == "T":
                sections.append(None)  # a type change is shown as a deletion, then a creation
            sections.append(e)
        starts = [0] if patch.startswith(b"diff --git ") else []
        starts += line_starts(patch, b"\ndiff --git ")
        if len(starts) != len(sections):
            raise OssaError(
                f"could not read git's diff output ({len(sections)} files, {len(starts)} patches);"
                " please report this with `git --version`"
            )
        hunk_pos = line_starts(patch, b"\n@@ -")
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
        kube = self._kubernetes(patch, starts, ends, sections, skip,
                                (hunk_pos, hunk_body, hunk_new), commit)
        result.findings.extend(kube)
        if self.allowlist is not None:
            result.findings = [f for f in result.findings if not self.allowlist.drops(f)]
        if len(patch) < QUICK_BYTES and not self.index.may_hold_secrets(patch, starts, sections,
                                                                         skip):
            return result
        if self.progress is not None and result.bytes >= 2_000_000:
            self.progress(f"scanning {result.bytes / 1e6:.1f} MB in {result.files} files…")
        low = patch.lower()
        layout = (starts, skip, sections, hunk_pos, hunk_body, hunk_new)
        middle = split_point(starts, len(patch)) if len(patch) >= PARALLEL_BYTES else None
        if middle is None:
            found = self._analyze(patch, low, layout, 0, len(patch))
        else:
            found = in_two_processes(
                lambda: self._analyze(patch, low, layout, 0, middle),
                lambda: self._analyze(patch, low, layout, middle, len(patch)),
            )
        known = {(f.path, f.line, f.secret) for f in kube}
        result.findings.extend(Finding(path, line, kind, value, commit)
                               for path, line, kind, value in found
                               if (path, line, value) not in known)
        if self.allowlist is not None:
            result.findings = [f for f in result.findings if not self.allowlist.drops(f)]
        return result

    @staticmethod
    def _kubernetes(patch: bytes, starts: list[int], ends: list[int],
                    sections: list[Entry | None], skip: list[bool],
                    hunks: tuple[list[int], list[int], list[int]],
                    commit: str | None) -> list[Finding]:
        """The ``data:`` values of Kubernetes Secret manifests added to YAML files."""
        out: list[Finding] = []
        hunk_pos, hunk_body, hunk_new = hunks
        for i, entry in enumerate(sections):
            if entry is None or skip[i] or not entry.path.lower().endswith((".yaml", ".yml")):
                continue
            start, end = starts[i], ends[i]
            kind = patch.find(b"kind:", start, end)
            if kind < 0 or patch.find(b"ecret", kind, end) < 0:
                continue
            from ossa_hooks.secrets.detectors import kubernetes_secrets

            lines: list[tuple[int, str]] = []
            h = bisect.bisect_left(hunk_pos, start)
            while h < len(hunk_pos) and hunk_pos[h] < end:
                number, pos = hunk_new[h], hunk_body[h]
                stop = hunk_pos[h + 1] if h + 1 < len(hunk_pos) else end
                for raw in patch[pos:min(stop, end)].split(b"\n"):
                    if raw.startswith(b"+"):
                        lines.append((number, raw[1:].rstrip(b"\r").decode("utf-8", "replace")))
                        number += 1
                h += 1
            allowed = {n for n, text in lines if "gitleaks:allow" in text or "pragma" in text}
            out.extend(Finding(entry.path, number, "Kubernetes Secret", value, commit)
                       for number, _key, value in kubernetes_secrets(lines)
                       if number not in allowed)
        return out

    def _analyze(self, patch: bytes, low: bytes, layout: tuple[Any, ...], lo: int,
                 hi: int) -> list[tuple[str, int, str, str]]:
        """(path, line, kind, value) of the secrets on the added lines starting in [lo, hi)."""
        starts, skip, sections, hunk_pos, hunk_body, hunk_new = layout
        out: list[tuple[str, int, str, str]] = []
        candidates = self.index.candidates(patch, low, lo, hi)
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

    def _scan_line(self, patch: bytes, low: bytes, ls: int, path: str, bits: int,
                   hits: list[int]) -> list[tuple[str, str]]:
        le = patch.find(b"\n", ls)
        if le < 0:
            le = len(patch)
        raw = patch[ls + 1 : le]
        previous = None
        if ls >= 2:
            prev = patch.rfind(b"\n", 0, ls - 1) + 1
            if patch[prev] == 43:
                previous = patch[prev + 1 : ls - 1]
        if (b"allow" in raw or (previous is not None and b"allow" in previous)) and \
                line_allowed(path, raw, previous):
            return []
        if le - ls > _LONG_LINE:
            pieces = _windows(ls + 1, le, hits)
        else:
            pieces = [(ls + 1, le)]
        found: list[tuple[str, str]] = []
        for a, b in pieces:
            text = patch[a:b].rstrip(b"\r").decode("utf-8", "replace")
            if text.endswith(">") and "<" in text and le + 1 < len(patch) and \
                    patch[le + 1] == 43:
                # <passwordToken>\n    value\n</passwordToken>: the value is on the next line.
                nxt = patch.find(b"\n", le + 1)
                following = patch[le + 2 : nxt if nxt >= 0 else len(patch)]
                if not following.lstrip().startswith(b"<"):
                    text += "\n" + following.rstrip(b"\r").decode("utf-8", "replace")
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


_GENERIC = frozenset({"Secret Keyword", "Base64 High Entropy String", "Hex High Entropy String"})


def _dedupe(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One finding per value on a line; a value inside a longer one (two providers matched the
    same token, one more fully) is dropped. A provider's own kind wins over a generic one."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for kind, value in sorted(found, key=lambda kv: (-len(kv[1]), kv[0] in _GENERIC)):
        if value in seen or any(value in longer for longer in seen):
            continue
        seen.add(value)
        out.append((kind, value))
    return out

