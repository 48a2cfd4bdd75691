"""Precision filters: each says why a candidate value is not a secret, for one reason.

They run on every candidate a detector found (``PROVIDER_FILTERS``) and, for assignments
found by keyword, on a longer list (``KEYWORD_FILTERS``). A filter takes the value and its
line and returns True when the value must be dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

Filter = Callable[[str, str], bool]


class LazyRegex:
    """A regex compiled on first use: a hook that never needs a filter never pays for its
    compilation (the patterns here cost more to compile than most commits take to scan)."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def get(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self.get().search(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self.get().match(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.get().fullmatch(text)

# Keys that vendors print in their documentation; finding them means someone pasted the docs.
DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
        "rk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "xoxb-not-a-real-token-this-will-not-work",
        "hunter2",  # the example password of bash.org and of detect-secrets' docs
        # OAuth 2.0 examples (RFC 6749, RFC 6750), copied into many client libraries.
        "2YotnFZFEjr1zCsicMWpAA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "mF_9.B5f-4.1JqM",
        "h480djs93hd8",
        "SplxlOBeZQQYbYS6WxSbIA",
    }
)

_EXAMPLE_WORDS = LazyRegex(
    r"example|sample|dummy|fake|placeholder|changeme|change[_-]me|your[_-]?|redacted|"
    r"replace[_-]?me|insert[_-]|xxxx|\.\.\.|todo|fixme|not[_-]?a[_-]?real|foobar",
    re.IGNORECASE,
)


_EXAMPLE_HOST = LazyRegex(
    r"@[\w.\-]*\bexample\.(?:com|org|net)\b|@[\w.\-]+\.(?:example|test|invalid)\b"
)


def documented_example(value: str, line: str) -> bool:
    """A vendor's documented example key, a value that says it is one, or credentials of a
    URL on a documentation host (example.com, *.test: RFC 2606)."""
    return (value in DOCUMENTED_EXAMPLES or bool(_EXAMPLE_WORDS.search(value))
            or bool(_EXAMPLE_HOST.search(line)))


_PLACEHOLDER = LazyRegex(
    r"""^<[^<>]*>$            # <YOUR_API_KEY>
    |\$\{[^}]*\}              # ${VAR}
    |\{\{.*\}\}               # {{ var }}
    |^\$[A-Za-z_(]            # $VAR, $(cmd)
    |%\([\w.]*\)[sdr]|%[sdr](?![A-Za-z0-9])  # printf style
    |\{\d*\}|\{[a-z_][\w.]*(?:![rsa])?(?::[^{}]*)?\}  # format fields: {0}, {}, {name}
    |^\*+$|^x+$|^X+$|^\#+$|^\.+$|^-+$|^_+$|^0+$
    |\#{4,}|\*{4,}|x{8,}|X{8,}     # a masked part: xoxp-…-####, sk-****
    |^\[[^\]]*\]$             # [secret]
    |^%[\w.\-]+%$             # %SECRET% (Windows environment)
    |^@[\w.\-]+@$             # @TOKEN@ (build substitution)
    |^__[\w\-]+__$            # __PASSWORD__
    """,
    re.VERBOSE,
)


def placeholder(value: str, line: str) -> bool:
    """A template slot or a masked value, not a value."""
    return bool(_PLACEHOLDER.search(value))


_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789" * 2,
    "zyxwvutsrqponmlkjihgfedcba",
    "9876543210" * 2,
    "qwertyuiopasdfghjklzxcvbnm",
    "QWERTYUIOPASDFGHJKLZXCVBNM",
)


def sequential(value: str, line: str) -> bool:
    """Eight or more characters in keyboard or alphabet order (abcdefgh, 12345678)."""
    if len(value) < 8:
        return False
    for i in range(len(value) - 7):
        chunk = value[i : i + 8]
        if any(chunk in s for s in _SEQUENCES):
            return True
    return False


def low_variety(value: str, line: str) -> bool:
    """Too few distinct characters to be generated (aaaaaaaa, abababab, ghp_0000…)."""
    return len(set(value)) < max(4, min(10, len(value) // 4))


_UUID = LazyRegex(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def uuid(value: str, line: str) -> bool:
    """A UUID: an identifier, not a credential."""
    return bool(_UUID.match(value))


_COLOUR = LazyRegex(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def css_colour(value: str, line: str) -> bool:
    """A colour such as #fff or #a1b2c3."""
    return bool(_COLOUR.match(value))


_HEX_DIGEST = LazyRegex(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}"
                         r"|[0-9a-f]{128})$|^(?:[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64})$")
_DIGEST_CONTEXT = LazyRegex(
    r"--hash[= ]|integrity|\bsha(?:1|224|256|384|512)\b|sha(?:1|224|256|384|512)[-:=]|"
    r"\bmd5\b|checksum|digest|\bcommit\b|\brev(?:ision)?\b|\betag\b|\bhash\b",
    re.IGNORECASE,
)
_DIGEST_CHARS = LazyRegex(r"[A-Za-z0-9+/=_\-]+")
_SRI = LazyRegex(r"^(?:sha(?:1|224|256|384|512)|md5)[-:=]", re.IGNORECASE)


def digest_syntax(value: str, line: str) -> bool:
    """A digest by its syntax or its line: SRI ``integrity``, pip ``--hash``, ``sha256:…``."""
    if _SRI.match(value):
        return True
    return bool(_DIGEST_CONTEXT.search(line)) and bool(_DIGEST_CHARS.fullmatch(value))


def hex_digest(value: str, line: str) -> bool:
    """Hex of a digest's length (md5, sha1/git object id, sha224, sha256, sha384, sha512)."""
    return bool(_HEX_DIGEST.match(value))


_ENV_READ = LazyRegex(
    r"os\.environ|os\.getenv|getenv\(|environ\.get|environ\[|process\.env|\bENV\[|\$ENV\{|"
    r"System\.getenv|GetEnvironmentVariable|os\.Getenv|Deno\.env|import\.meta\.env|"
    r"\bgetpass\(|keyring\.|secretKeyRef|valueFrom|secretsmanager|\bssm:|\{\{\s*secrets\."
)
_SETTINGS_VALUE = LazyRegex(
    r"^(?:env|settings|config|conf|cfg|secrets|vault|options|opts|params|self|this|args|ctx|"
    r"context|request|app)[.\[:]|^!(?:env|vault|secret|ref|Ref|Sub|GetAtt)\b"
    r"|^(?:arn|vault|op|ssm|awssm|gcpsm|azkv|secretsmanager|sops|keyvault)[:/]",
    re.IGNORECASE,
)


def env_or_settings_read(value: str, line: str) -> bool:
    """The value is read from the environment, the settings or a secret store, not written."""
    return bool(_SETTINGS_VALUE.match(value)) or bool(_ENV_READ.search(line))


_PATTERN = LazyRegex(
    r"\(\?|\\[dwsbDWSBnrtvx.]|\[\^|\[[a-zA-Z0-9]-[a-zA-Z0-9]|\]\{|\{\d+,|\)\*|\)\+|\.\*"
)


def pattern_or_code(value: str, line: str) -> bool:
    """A regular expression or an escape sequence, not a value: ``(?:key|pwd)``, ``[a-z]{24}``."""
    return bool(_PATTERN.search(value))


_GENERIC = LazyRegex(r"password|passwd|secret|token|username|credential|apikey|api_key",
                      re.IGNORECASE)
_GENERIC_WORDS = frozenset({"pass", "pwd", "pw", "user", "usr", "key", "login", "auth", "none",
                            "null", "root", "admin", "guest", "test", "demo", "foo", "bar"})


def generic_word(value: str, line: str) -> bool:
    """The value names what should be there: ``password``, ``user:pass``, ``my-secret-token``."""
    return value.lower() in _GENERIC_WORDS or bool(_GENERIC.search(value))


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (detect-secrets' measure)."""
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


PROVIDER_FILTERS: tuple[Filter, ...] = (documented_example, placeholder, low_variety, generic_word)
KEYWORD_FILTERS: tuple[Filter, ...] = (
    documented_example,
    placeholder,
    sequential,
    low_variety,
    uuid,
    css_colour,
    digest_syntax,
    env_or_settings_read,
    pattern_or_code,
    generic_word,
)


def dropped(value: str, line: str, filters: tuple[Filter, ...]) -> bool:
    """True when any filter says ``value`` is not a secret."""
    return any(f(value, line) for f in filters)
