"""Where the candidate lines are: the providers' anchors over a whole patch at once.

Regex anchors sharing their first two literal bytes run as one regex; anchors that are plain
literals (the rule set's keywords, hundreds of them) are found together by one Aho-Corasick
pass (pyahocorasick; ``bytes.find`` one literal at a time without it). A small patch is first
looked at without regular expressions at all (``may_hold_secrets``): the anchors' literals,
their character-class tails and the bytes-level checks of ``patch.py``.
"""

from __future__ import annotations

import bisect

from ossa_hooks.secrets.patch import assignment_at
from ossa_hooks.secrets.patch import userinfo_at
from ossa_hooks.secrets.plugins import Provider
from ossa_hooks.secrets.plugins import anchor_groups
from ossa_hooks.secrets.plugins import is_config_file
from ossa_hooks.secrets.plugins import quick_anchors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Iterator
    from typing import Any

    from ossa_hooks.secrets.patch import Entry
    from ossa_hooks.secrets.ruleset import RuleSet

RULES_TARGET = "ossa_hooks.secrets.detectors:RuleDetector"
_PIECE = 1 << 21  # the Aho-Corasick pass decodes the patch 2 MB at a time


class Anchors:
    """The providers' anchors, grouped and compiled on first use."""

    def __init__(self, providers: tuple[Provider, ...]) -> None:
        # Anchors that are plain literals (the rule set's keywords) are found all at once by
        # one Aho-Corasick pass (``literals``: literal -> providers' bits).
        self.anchors: list[tuple[bytes, bytes, tuple[tuple[bytes, int], ...]]] = []
        self.literals: dict[bytes, int] = {}
        for literal, pattern, groups in anchor_groups(providers):
            alternatives = tuple((alt, _bits(ids)) for alt, ids in groups)
            if all(_plain(alt) for alt, _ in alternatives):
                for alt, bits in alternatives:
                    plain = _unescape(alt)
                    self.literals[plain] = self.literals.get(plain, 0) | bits
            else:
                self.anchors.append((literal, pattern, alternatives))
        quick = quick_anchors(providers)
        # The quick pass: plain literals with no check of their own go to the automaton.
        self.quick_literals = {q[0] for q in quick if q[1] is None and q[3] is None
                               and q[0] in self.literals}
        self.quick = [q for q in quick if q[0] not in self.quick_literals]
        self._automata: dict[bool, Any] = {}

    def may_hold_secrets(self, patch: bytes, starts: list[int],
                         sections: list[Entry | None], skip: list[bool]) -> bool:
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
                        ok = assignment_at(low, ls, end, entry is not None
                                            and is_config_file(entry.path))
                    elif quick == "userinfo":
                        ok = userinfo_at(low, end)
                    else:
                        ok = True
                    if ok:
                        return True
                pos = low.find(literal, pos + 1)
        for pos, _bits_hit in self._plain_hits(low, 0, len(low), quick=True):
            ls = low.rfind(b"\n", 0, pos) + 1
            if patch[ls] == 43 and not skip[bisect.bisect_right(starts, ls) - 1]:
                return True
        return False

    def _automaton(self, quick: bool) -> Any:
        """Aho-Corasick over the plain literals (all, or those of the quick pass); None when
        pyahocorasick is missing (then ``bytes.find``, one literal at a time)."""
        if quick not in self._automata:
            try:
                import ahocorasick
            except ImportError:
                self._automata[quick] = None
                return None
            auto = ahocorasick.Automaton()
            for literal, bits in self.literals.items():
                if not quick or literal in self.quick_literals:
                    auto.add_word(literal.decode("latin-1"), (len(literal), bits))
            if len(auto):
                auto.make_automaton()
            self._automata[quick] = auto if len(auto) else False
        return self._automata[quick]

    def _plain_hits(self, low: bytes, lo: int, hi: int,
                    quick: bool = False) -> Iterator[tuple[int, int]]:
        """(offset, providers' bits) of each plain literal in ``low[lo:hi]``."""
        auto = self._automaton(quick)
        if auto is False:
            return
        if auto is None:
            for literal, bits in self.literals.items():
                if quick and literal not in self.quick_literals:
                    continue
                pos = low.find(literal, lo, hi)
                while pos >= 0:
                    yield pos, bits
                    pos = low.find(literal, pos + 1, hi)
            return
        # latin-1 maps each byte to one character: offsets stay byte offsets. In pieces, so
        # that a large patch is not copied whole; pieces overlap by the longest literal.
        overlap = max(len(k) for k in self.literals) - 1
        start = lo
        while start < hi:
            stop = min(hi, start + _PIECE)
            text = low[start : stop + overlap if stop < hi else hi].decode("latin-1")
            for end, (size, bits) in auto.iter(text):
                pos = start + end - size + 1
                if pos < stop:  # a hit in the overlap is the next piece's
                    yield pos, bits
            start = stop

    def candidates(self, patch: bytes, low: bytes, lo: int,
                   hi: int) -> dict[int, tuple[int, list[int]]]:
        """Start of each added line an anchor hit -> (providers bit set, hit offsets)."""

        found: dict[int, tuple[int, list[int]]] = {}
        rfind = low.rfind
        plus = 43  # "+"
        small = hi - lo < 1_000_000  # on a large patch every prefix is there: skip the look
        hits = [self._plain_hits(low, lo, hi)]
        for literal, pattern, alternatives in self.anchors:
            if small and low.find(literal, lo, hi) < 0:
                continue  # nothing to compile or run: most groups on a small commit
            hits.append(self._hits(low, lo, hi, pattern, alternatives))
        for found_hits in hits:
            for pos, bits in found_hits:
                ls = rfind(b"\n", 0, pos) + 1
                if patch[ls] != plus:
                    continue
                old = found.get(ls)
                if old is None:
                    found[ls] = (bits, [pos])
                else:
                    old[1].append(pos)
                    found[ls] = (old[0] | bits, old[1])
        return found

    @staticmethod
    def _hits(low: bytes, lo: int, hi: int, pattern: bytes,
              alternatives: tuple[tuple[bytes, int], ...]) -> Iterator[tuple[int, int]]:
        """(offset, providers' bits) of each hit of one anchor group's regex."""
        import re

        several = len(alternatives) > 1
        for m in re.compile(pattern).finditer(low, lo, hi):
            pos = m.start()
            if several:
                # The regex reports the first alternative that matched; others may too
                # ("sk-ant-…" is both an OpenAI-shaped and an Anthropic anchor).
                bits = 0
                for alt, alt_bits in alternatives:
                    if re.compile(alt).match(low, pos):  # re caches the compiled pattern
                        bits |= alt_bits
            else:
                bits = alternatives[0][1]
            yield pos, bits


def rules_providers(rules: RuleSet) -> tuple[Provider, ...]:
    """The rule set as providers whose anchors are its keywords (plain literals). A keyword
    that ordinary code is full of gets the bytes-level check of its shape first: ``://``
    must be followed by ``user:password@`` before the rules are even loaded."""
    from ossa_hooks.secrets.detectors import ENCODED_KEYWORDS

    words = sorted({*rules.keywords(), *ENCODED_KEYWORDS})
    common = [w for w in words if w == "://"]
    rest = [w for w in words if w != "://"]
    out = [Provider(RULES_TARGET, tuple(_escape(w.encode("utf-8")) for w in rest))]
    if common:
        out.append(Provider(RULES_TARGET, (rb"\:\/\/",), quick="userinfo"))
    return tuple(out)


def _escape(literal: bytes) -> bytes:
    return b"".join(b"\\" + bytes([c]) if not (chr(c).isalnum() or c == 95 or c > 127)
                    else bytes([c]) for c in literal)


def _plain(anchor: bytes) -> bool:
    """An anchor with no regex syntax but escapes: ``bytes.find`` can look for it."""
    i = 0
    while i < len(anchor):
        c = anchor[i : i + 1]
        if c == b"\\":
            if anchor[i + 1 : i + 2].isalnum():
                return False
            i += 2
            continue
        if c in b"[(.?*+{|^$":
            return False
        i += 1
    return True


def _unescape(anchor: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(anchor):
        if anchor[i] == 92:
            i += 1
        out.append(anchor[i])
        i += 1
    return bytes(out)


def _bits(ids: Iterable[int]) -> int:
    out = 0
    for i in ids:
        out |= 1 << i
    return out
