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

import re
from collections.abc import Iterator

from ossa_hooks.secrets.plugins import is_config_file
from ossa_hooks.secrets.plugins.filters import KEYWORD_FILTERS
from ossa_hooks.secrets.plugins.filters import LazyRegex
from ossa_hooks.secrets.plugins.filters import dropped
from ossa_hooks.secrets.plugins.filters import hex_digest
from ossa_hooks.secrets.plugins.filters import shannon_entropy

KEYWORD_TYPE = "Secret Keyword"
BASE64_TYPE = "Base64 High Entropy String"
HEX_TYPE = "Hex High Entropy String"

# A name is split into words (snake_case, camelCase, kebab-case, dotted); what it holds is
# said by its last word(s): db_password, apiKey, AWS_SECRET_ACCESS_KEY, client-secret hold
# secrets; password_hash, token_type, SecretTargetAttachment, tokenizer do not.
_STRONG_WORDS = frozenset(
    """password passwords passwd passphrase pass pwd pw secret secrets token tokens credential
    credentials contraseña contrasena apikey passcode""".split()
)
_STRONG_PAIRS = frozenset(
    """apikey accesskey privatekey secretkey authkey clientkey servicekey accountkey dbkey
    masterkey signingkey encryptionkey webhooksecret""".split()
)
_WEAK_WORDS = frozenset("""key keys auth authorization bearer salt signature cookie cred creds
                        sessionkey""".split())
# Words after the secret word that still name the value itself: password_value, token_b64.
_VALUE_SUFFIXES = frozenset("value val str string b64 base64 hex raw plain plaintext encoded base"
                            .split())
# Tokens that are positions or request ids, not credentials: NextToken, page_token, ClientToken.
_NOT_SECRET_TOKENS = frozenset("""next page pagination continuation sync start resume output
    input idempotency client request end last first previous prev cancel""".split())
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-zñ]+|\d+")
_NOT_SECRET_PREFIXES = ("is_", "has_", "use_", "show_", "no_", "get_", "set_", "check_",
                        "enable_", "require_", "num_", "max_", "min_", "validate_", "reset_")

_ASSIGN = re.compile(
    r"""(?<![\w.$\-])(?P<name>[A-Za-z_$@][\w.\-$]{0,80})   # a name: variable, key, option
    (?P<nq>["'`]?)\]?                                     # end of a quoted key or subscript
    (?:[ \t]+(?P<type>[A-Za-z_][\w.]{0,20}(?:\[\])?))?      # a type: var token string = "…"
    [ \t]*(?P<op>:{1,3}=|\?\?=|\?=|\.=|\+=|=>|=|:)(?![=:])[ \t]*   # assignment, never ==
    (?:[rRbBuU]{1,2}(?=["']))?                            # r"" b"" u"" prefixes
    (?:(?P<q>["'`])(?P<qv>[^"'`\r\n]{1,512}?)(?P=q)       # a quoted value
      |(?P<uv>(?:[^\s"'`,;#(){}\[\]\\]|\\(?![nrt"'\\]))(?:[^\s"'`,;#(){}\[\]\\]|\\(?![nrt"'\\])){0,511})
       (?=$|[\s,;#\]}]|\\[nrt"']))                      # or a bare one (\n: JSON-escaped)
    """,
    re.VERBOSE,
)
# <passwordToken>value</passwordToken>, the value maybe on the next line (the engine joins it).
_ELEMENT = LazyRegex(r"<(?P<name>[A-Za-z_][\w.\-]{0,80})(?:\s[^<>]*)?>"
                     r"(?:[ \t]*(?P<qv>[^<>\s@]{1,512})\s*</(?P=name)>"
                     r"|[ \t]*\n\s*(?P<nv>[^<>\s]{1,512})\s*$)")
# <add key="Password" value="…"/> (nuget), <entry name="token" value="…"/>, <param name=… value=…>
_ATTRIBUTES = LazyRegex(r"""\b(?:key|name|id)\s*=\s*["'](?P<name>[\w.\-]{1,80})["']\s+"""
                        r"""(?:value|content)\s*=\s*["'](?P<qv>[^"'\r\n]{1,512})["']""")
# Name and value as a call's two string arguments: define('DB_PASSWORD', '…') in PHP,
# setenv/putenv, os.environ.setdefault("TOKEN", "…").
_CALL = LazyRegex(
    r"""\b(?:define|setenv|putenv|Setenv|setdefault|set_secret|setProperty)\(\s*"""
    r"""(?P<nq>['"])(?P<name>[\w.\-]{1,80})(?P=nq)\s*,\s*(?P<q>['"])(?P<qv>[^'"\r\n]{1,512})(?P=q)"""
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


# Prefixes of providers' tokens: a value with one is judged by that provider's rule alone, so a
# placeholder in the provider's shape (xoxb-12345-abcd234, ghp_xxx) is not a keyword finding.
_TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xoxa-", "xoxe-", "xoxs-", "xoxr-", "xapp-", "ghp_", "gho_",
                   "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "sk_live_", "sk_test_",
                   "rk_live_", "rk_test_", "sk-ant-", "hf_", "npm_", "pypi-", "shpat_",
                   "dop_v1_", "akia", "aiza", "sq0atp-")


def _name_says_secret(name: str) -> str | None:
    """'strong', 'weak' or None for a name such as ``db_password`` or ``cache_key``."""
    lowered = name.lower().lstrip("$@")
    if lowered.startswith(_NOT_SECRET_PREFIXES):
        return None
    words = [w.lower() for w in _NAME_WORDS.findall(name) if not w.isdigit()]
    while len(words) > 1 and words[-1] in _VALUE_SUFFIXES:
        words.pop()
    if not words:
        return None
    last = words[-1]
    if last in ("token", "tokens") and len(words) > 1 and words[-2] in _NOT_SECRET_TOKENS:
        return None
    pair = "".join(words[-2:])
    if last in _STRONG_WORDS or pair in _STRONG_PAIRS:
        return "strong"
    if last in _WEAK_WORDS or pair in _WEAK_WORDS:
        return "weak"
    return None


def _looks_generated(value: str) -> str | None:
    """The high-entropy type of ``value`` when it looks machine-generated, else None."""
    if len(value) < 16 or _WORDY.match(value):
        return None  # short, or words and identifiers (CamelCase, dotted.names)
    if _HEX_CHARS.match(value):
        return HEX_TYPE if shannon_entropy(value) > 3.0 and not value.isdigit() else None
    if _BASE64_CHARS.match(value) and shannon_entropy(value) > 4.0:
        # Generated keys mix cases and digits; a value without a digit is almost always text.
        mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        return BASE64_TYPE if mixed else None
    return None


def _plausible_password(value: str) -> bool:
    """A value a person or a machine would use as a password, not a word, number or path."""
    if len(value) < 6 or " " in value.strip() or value.lower() in _LITERALS:
        return False
    if sum(c.isalnum() for c in value) < 3:
        return False  # symbols only: a mask, a separator, an operator ("********", "=>=>")
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
        python = path.endswith((".py", ".pyi"))
        for m in _ASSIGN.finditer(line):
            start = m.start("name")
            if start and line[start - 1] == ":":
                continue  # the last part of a qualified name (AWS::IAM::AccessKey), a type
            if m.group("op") == ":" and (python or m.group("type")) and not m.group("nq"):
                continue  # name: "…" in Python is an annotation or a parameter, not a value
            name = m.group("name")
            if m.group("type") and _name_says_secret(name) is None:
                name = m.group("type")  # "password string": the type word was the name
                if _name_says_secret(name) is None:
                    continue
            value = m.group("qv")
            generated_only = False
            if value is not None and "=" in value and len(value) > 8:
                # "API_TOKEN=…\nDEBUG=true": an assignment inside a string (one level).
                yield from self.scan_line(path, value.replace("\\n", "\n"))
            if value is None:
                value = m.group("uv")
                if value.startswith(("!", "&", "*", "|", ">", "%")):
                    continue  # YAML tags, anchors, aliases, block scalars; templates
                # In code a bare value is a reference (password = get_password()); only a
                # value that looks generated counts there.
                generated_only = not bare_ok
            found = self._judge(name, value, line[m.start("op"):], generated_only)
            if found is not None:
                yield found
        if "<" in line:
            for rx in (_ELEMENT, _ATTRIBUTES):
                for m in rx.get().finditer(line):
                    value = m.group("qv") or m.group("nv") if rx is _ELEMENT else m.group("qv")
                    found = self._judge(m.group("name"), value, line[m.end("name"):])
                    if found is not None:
                        yield found
        if "(" in line:
            for m in _CALL.get().finditer(line):
                found = self._judge(m.group("name"), m.group("qv"), line[m.end("name"):])
                if found is not None:
                    yield found

    def _judge(self, name: str, value: str, rest: str,
               generated_only: bool = False) -> tuple[str, str] | None:
        """The finding for ``name`` = ``value`` (``rest``: the line from the operator on, so
        that an environment *write* such as ``os.environ["X"] = "…"`` is not a read)."""
        strength = _name_says_secret(name)
        if strength is None:
            return None
        value = _AUTH_SCHEME.get().sub("", value.strip())
        if not value or value.lower().startswith(_TOKEN_PREFIXES):
            return None  # a provider's own format: its rule decides (xoxb-12345-abcd234)
        # The cheap shape tests first; the filters only for values that could be secrets.
        if strength == "strong" and not generated_only and _plausible_password(value):
            kind: str | None = KEYWORD_TYPE
        elif (self.entropy or generated_only) and not hex_digest(value, rest):
            kind = _looks_generated(value)
        else:
            kind = None
        if kind is None or dropped(value, rest, KEYWORD_FILTERS):
            return None
        return kind, value
