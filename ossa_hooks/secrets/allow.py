"""Lines the author marked as not secret: detect-secrets' pragmas, exactly as it applies them,
and gitleaks' ``gitleaks:allow`` comment.

detect-secrets (``filters/allowlist.py``) accepts a pragma only after a comment marker of one
of six syntaxes (``#``, ``//``, ``/*…*/``, ``'``, ``--``, ``<!--…-->``; YAML files only ``#``):
``# pragma: allowlist secret``, ``#pragma:allowlist secret``, ``# pragma: allowlist-secret``,
``# pragma: whitelist secret``; and ``# pragma: allowlist nextline secret`` alone on the line
before. gitleaks skips any line that contains ``gitleaks:allow``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_COMMENTS = (("#", ""), ("//", ""), (r"/\*", r" *\*/"), ("'", ""), ("--", ""),
             (r"<!--[# \t]*?", " *?-->"))
_CACHE: dict[tuple[bool, bool], list[re.Pattern[str]]] = {}


def _regexes(yaml: bool, nextline: bool) -> list[re.Pattern[str]]:
    found = _CACHE.get((yaml, nextline))
    if found is None:
        import re

        comments = _COMMENTS[:1] if yaml else _COMMENTS
        found = _CACHE[(yaml, nextline)] = [
            re.compile(
                ("^" if nextline else "") + rf"[ \t]*{start} *pragma: ?"
                + ("allowlist" if nextline else "(allow|white)list")
                + ("[ -]nextline" if nextline else "") + rf"[ -]secret.*?{end}[ \t]*$"
            )
            for start, end in comments
        ]
    return found


def _is_yaml(path: str) -> bool:
    return path.lower().rpartition(".")[2] == "yaml" and "." in path.rpartition("/")[2]


def pragma_allows(path: str, line: str, previous: str | None) -> bool:
    """Whether detect-secrets would let ``line`` (of file ``path``) pass."""
    yaml = _is_yaml(path)
    if "list" in line and any(r.search(line) for r in _regexes(yaml, False)):
        return True
    return (previous is not None and "nextline" in previous
            and any(r.search(previous) for r in _regexes(yaml, True)))


def line_allowed(path: str, raw: bytes, previous: bytes | None) -> bool:
    """The scanner's test on an added line's bytes: cheap ``in`` tests first."""
    if b"gitleaks:allow" in raw:
        return True
    if b"pragma" not in raw and (previous is None or b"pragma" not in previous):
        return False
    text = raw.decode("utf-8", "replace").rstrip("\r")
    prev = previous.decode("utf-8", "replace").rstrip("\r") if previous is not None else None
    return pragma_allows(path, text, prev)
