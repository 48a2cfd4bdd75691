"""Detectors the scanner hands candidate lines to: the rule set, encoded secrets, Kubernetes
Secret data.

``RuleDetector`` runs the rules whose keywords the line holds, then decodes one level of
base64 (a JWT or a token written encoded, as in ``ZXlK…``, the encoding of ``eyJ…``) and runs
the rules again on the decoded text. ``kubernetes_secrets`` reads the ``data:`` values of a
``kind: Secret`` manifest: each value is base64 by definition, so it is decoded and judged.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Sequence

    from ossa_hooks.secrets.ruleset import RuleSet

# Lower-cased prefixes of base64 text that decodes to a token format worth decoding for.
ENCODED_KEYWORDS = ("zxlk",)  # "eyJ" (a JWT, a JSON object) encoded once more
_B64_RUN = r"[A-Za-z0-9+/]{20,}={0,2}|[A-Za-z0-9_\-]{20,}={0,2}"


class RuleDetector:
    """The rule set seen as a line detector: ``(kind, value)`` for each secret on a line."""

    secret_type = "rules"  # noqa: S105 - a name, not a secret

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules

    def scan_line(self, path: str, line: str) -> Iterator[tuple[str, str]]:
        low = line.lower()
        for rule in self.rules.candidates(low):
            if rule.applies_to(path):
                for value in rule.find(line):
                    if not _identifier(value) and (rule.id != "jwt" or valid_jwt(value)):
                        yield rule.name, value
        if any(k in low for k in ENCODED_KEYWORDS):
            yield from self._decoded(path, line)

    def _decoded(self, path: str, line: str) -> Iterator[tuple[str, str]]:
        import re

        for m in re.finditer(_B64_RUN, line):
            text = decode_base64(m.group())
            if text is None:
                continue
            low = text.lower()
            for rule in self.rules.candidates(low):
                if rule.applies_to(path) and rule.find(text):
                    yield f"{rule.name} (base64)", m.group()
                    break


def _identifier(value: str) -> bool:
    """camelCase or PascalCase letters only: a name in code (``searchConfluenceUsingCql``),
    not a generated token (which mixes in digits)."""
    return value.isalpha() and not value.islower() and not value.isupper()


def valid_jwt(value: str) -> bool:
    """A JWT whose header decodes to the start of a JSON object (``{"``)."""
    import base64
    import binascii

    head = value.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return raw.lstrip().startswith(b'{"')


def decode_base64(value: str) -> str | None:
    """``value`` decoded (standard or URL-safe alphabet, padding optional) when it is printable
    text; None otherwise."""
    import base64
    import binascii

    raw = value.strip("\"'").rstrip("=")
    if len(raw) < 8 or len(raw) % 4 == 1:
        return None
    padded = raw + "=" * (-len(raw) % 4)
    try:
        data = (base64.urlsafe_b64decode(padded) if ("-" in raw or "_" in raw)
                else base64.b64decode(padded, validate=True))
        text = data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not text or any(not (c.isprintable() or c in "\n\r\t") for c in text):
        return None
    return text


# --- Kubernetes Secrets -------------------------------------------------------------------------


def kubernetes_secrets(lines: Sequence[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """``(line number, key, value)`` of each ``data:`` entry of a Kubernetes Secret among the
    added ``lines`` of one YAML file (``stringData:`` holds plain text and is read too). A value
    counts when it decodes to text (``data:``) and is not a template slot or empty."""
    import re

    kind = re.compile(r"""^\s*kind:\s*["']?secret["']?\s*(?:#.*)?$""", re.IGNORECASE)
    if not any(kind.match(text) for _, text in lines):
        return []
    out: list[tuple[int, str, str]] = []
    section: str | None = None
    indent = -1
    pending: tuple[int, str, str] | None = None  # a key whose value is a block scalar
    for number, text in lines:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped == "---":
            section, pending = None, None
            continue
        width = len(text) - len(text.lstrip(" \t"))
        m = re.match(r"""^(data|stringData):\s*$""", stripped)
        if m is not None:
            section, indent = m.group(1), width
            continue
        if section is None:
            continue
        if width <= indent:
            section, pending = None, None
            continue
        if pending is not None:
            out.extend(_k8s_value(number, pending[1], stripped, pending[2]))
            pending = None
            continue
        entry = re.match(r"""^([\w.\-]+):\s*(.*)$""", stripped)
        if entry is None:
            continue
        key, value = entry.group(1), entry.group(2).strip()
        if value in ("|", ">", "|-", ">-", "|+", ">+"):
            pending = (number, key, section)
            continue
        out.extend(_k8s_value(number, key, value, section))
    return out


def _k8s_value(number: int, key: str, value: str, section: str) -> list[tuple[int, str, str]]:
    value = value.strip().strip("\"'")
    if not value or "{{" in value or value.startswith("$"):
        return []
    if section == "data":
        decoded = decode_base64(value)
        if decoded is None or len(decoded.strip()) < 4:
            return []
    elif len(value) < 6:
        return []
    return [(number, key, value)]
