"""Secrets assigned to secret-sounding names, in code, YAML, JSON, INI, shell and ``.env`` files.

``password = "…"``, ``"api_key": "…"``, ``DB_PASSWORD=…``, ``token: …``, ``secret => '…'``. A
value counts only when it is written out literally (a quoted string in code; quoted or bare
in configuration files) and survives the precision filters. Names that merely *contain* a
weaker word (``key``, ``auth``, ``salt``, ``signature``…) count when their value looks
generated (high entropy), which is detect-secrets' high-entropy test restricted to the places
where a secret is plausible. Findings are named with detect-secrets' secret types, so a
baseline written from them stays readable by ``detect-secrets audit``.

This detector needs no detect-secrets import: it runs on the hot path of every commit that
touches a line with one of these words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from ossa_hooks.secret_plugins.filters import KEYWORD_FILTERS
from ossa_hooks.secret_plugins.filters import LazyRegex
from ossa_hooks.secret_plugins.filters import dropped
from ossa_hooks.secret_plugins.filters import hex_digest
from ossa_hooks.secret_plugins.filters import shannon_entropy

KEYWORD_TYPE = "Secret Keyword"
BASE64_TYPE = "Base64 High Entropy String"
HEX_TYPE = "Hex High Entropy String"

_STRONG = re.compile(
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_.\-]?key|apikey|auth[_.\-]?key|"
    r"access[_.\-]?key|private[_.\-]?key|credentials?|contrase[ñn]a",
    re.IGNORECASE,
)
_WEAK = re.compile(r"key|auth|bearer|salt|signature|session|cookie|cred", re.IGNORECASE)

# A name whose last part says it holds something *about* the secret, not the secret.
_NOT_SECRET_PARTS = frozenset(
    """file files path paths dir dirs directory url urls uri endpoint host hostname name names
    type types kind id ids len length size count field fields prefix suffix env envvar var vars
    variable header headers param params regex re pattern patterns format fmt template label
    help hint message msg msgs error errors cls class mode policy attr attribute column col
    ttl timeout expiry expires expiration max min method scheme algorithm alg store storage
    provider manager backend handler factory callback hook required enabled disabled flag
    required_ index idx position pos offset number num char chars characters placeholder
    prompt text title description desc doc docs link links option options choices widget
    input form view views mask masked hash hashed hasher hashes digest salt_length rounds
    iterations strength validator validators policy_ reset confirm confirmation changed
    change changes expire expired expired_ age lifetime location loc key_id keyid keyname
    module modules package klass cache cached count_ counter limit limits version
    """.split()
)
_NOT_SECRET_PREFIXES = ("is_", "has_", "use_", "show_", "no_", "get_", "set_", "check_",
                        "enable_", "require_", "num_", "max_", "min_", "validate_", "reset_")

# Files whose values may be written without quotes.
_CONFIG_SUFFIXES = frozenset(
    """.env .ini .cfg .conf .config .properties .yaml .yml .toml .sh .bash .zsh .ksh .envrc
    .npmrc .pypirc .netrc .htpasswd .tfvars .pgpass .dockerfile .service .desktop""".split()
)
_CONFIG_NAMES = frozenset({"dockerfile", ".env", ".envrc", ".npmrc", ".pypirc", ".netrc",
                           "containerfile", ".pgpass", "env"})

_ASSIGN = re.compile(
    r"""(?<![\w.$\-])(?P<name>[A-Za-z_$@][\w.\-$]{0,80})   # a name: variable, key, option
    ["'`]?\]?                                             # end of a quoted key or subscript
    [ \t]*(?P<op>:=|=>|=|:)(?![=:])[ \t]*                 # assignment, never == (comparison)
    (?:[rRbBuU]{1,2}(?=["']))?                            # r"" b"" u"" prefixes
    (?:(?P<q>["'`])(?P<qv>[^"'`\r\n]{1,512}?)(?P=q)       # a quoted value
      |(?P<uv>[^\s"'`,;#(){}\[\]]{1,512})(?=$|[\s,;#\]}]))  # or a bare one
    """,
    re.VERBOSE,
)
_AUTH_SCHEME = LazyRegex(r"^(?:Bearer|Basic|Token|token|bearer)\s+")
_EXPORT = LazyRegex(r"^\s*(?:export\s+|set\s+|ENV\s+|ARG\s+)", re.IGNORECASE)
# Words and identifiers: lower, UPPER, Capitalised or camelCase parts joined by _ . - or space.
_WORD = r"(?:[a-z]+|[A-Z]+|[A-Z]?[a-z]+(?:[A-Z][a-z]+)*)"
_WORDY = LazyRegex(rf"^{_WORD}(?:[_.\-\s]{_WORD})*$")
_NUMBERISH = LazyRegex(r"^[-+]?[\d_.,:]+[kKmMsShHdD]?$")
_BASE64_CHARS = LazyRegex(r"^[A-Za-z0-9+/=_\-.~]+$")
_HEX_CHARS = LazyRegex(r"^[0-9a-fA-F]+$")
_LITERALS = frozenset({"true", "false", "none", "null", "nil", "yes", "no", "on", "off",
                       "undefined", "required", "optional", "string", "str", "bytes", "int",
                       "bool", "object", "any", "empty", "default", "secret", "password"})


@functools.lru_cache(maxsize=4096)
def is_config_file(path: str) -> bool:
    """True for files whose values may be bare (YAML, INI, .env, shell, Dockerfile…)."""
    name = path.rpartition("/")[2].lower()
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    return (name in _CONFIG_NAMES or name.startswith(".env") or suffix in _CONFIG_SUFFIXES
            or name.endswith(".env"))


def _name_says_secret(name: str) -> str | None:
    """'strong', 'weak' or None for a name such as ``db_password`` or ``cache_key``."""
    lowered = name.lower().lstrip("$@").replace("-", "_")
    last = re.split(r"[._]", lowered.rstrip("_"))[-1] if lowered else ""
    if last in _NOT_SECRET_PARTS or lowered.startswith(_NOT_SECRET_PREFIXES):
        return None
    if _STRONG.search(lowered):
        return "strong"
    if _WEAK.search(lowered):
        return "weak"
    return None


def _looks_generated(value: str) -> str | None:
    """The high-entropy type of ``value`` when it looks machine-generated, else None."""
    if len(value) < 16:
        return None
    if _HEX_CHARS.match(value):
        return HEX_TYPE if shannon_entropy(value) > 3.0 and not value.isdigit() else None
    if _BASE64_CHARS.match(value) and shannon_entropy(value) > 4.0:
        classes = sum(bool(re.search(c, value)) for c in ("[a-z]", "[A-Z]", "[0-9]"))
        return BASE64_TYPE if classes >= 2 else None
    return None


def _plausible_password(value: str) -> bool:
    """A value a person or a machine would use as a password, not a word, number or path."""
    if len(value) < 6 or " " in value.strip() or value.lower() in _LITERALS:
        return False
    if _WORDY.match(value) or _NUMBERISH.match(value):
        return False
    if value.startswith(("/", "./", "../", "~/", "http://", "https://", "file:", "\\\\")):
        return False
    if re.search(r"\.(?:pem|key|crt|json|txt|ya?ml|p12|pfx|jks|der|cfg|ini|env)$", value, re.I):
        return False
    # A dotted or bracketed reference: settings.DB_PASSWORD, obj.attr, get_token()
    return not re.fullmatch(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+(?:\(\))?", value)


class KeywordDetector:
    """Finds literal values assigned to secret-sounding names on one line."""

    secret_type = KEYWORD_TYPE

    def __init__(self, entropy: bool = True) -> None:
        self.entropy = entropy

    def scan_line(self, path: str, line: str) -> Iterator[tuple[str, str]]:
        """(secret type, value) for each secret assigned on ``line`` of file ``path``."""
        bare_ok = is_config_file(path) or bool(_EXPORT.match(line))
        for m in _ASSIGN.finditer(line):
            strength = _name_says_secret(m.group("name"))
            if strength is None:
                continue
            value = m.group("qv")
            if value is None:
                if not bare_ok:
                    continue  # in code a bare value is a reference: password = get_password()
                value = m.group("uv")
                if value.startswith(("!", "&", "*", "|", ">", "%")):
                    continue  # YAML tags, anchors, aliases, block scalars; templates
            value = _AUTH_SCHEME.get().sub("", value.strip())
            if not value:
                continue
            # The cheap shape tests first; the filters only for values that could be secrets.
            if strength == "strong" and _plausible_password(value):
                kind: str | None = KEYWORD_TYPE
            elif self.entropy and not hex_digest(value, line):
                kind = _looks_generated(value)
            else:
                kind = None
            if kind is not None and not dropped(value, line, KEYWORD_FILTERS):
                yield kind, value
