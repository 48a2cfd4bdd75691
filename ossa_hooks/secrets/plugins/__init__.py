"""The table of secret providers the scanner knows, and how to find their lines cheaply.

Each provider is a detect-secrets ``RegexBasedDetector`` class, the keyword detector of this
folder, or the rule set (``rules/*.toml``, which the engine adds as one more provider). A
provider's module is imported only when a staged line holds one of its ``anchors`` (lower-case
literals searched in the whole diff at once) and, when given, matches its ``precheck`` (a
regex on the lower-cased line). So a commit with no candidate line never imports
detect-secrets, and adding a provider touches one rule file or this table.
"""

from __future__ import annotations


class Provider:
    """One detector: ``target`` is ``module:Class``; ``anchors`` bytes regexes with a literal
    prefix (they run over the lower-cased diff, so keep them cheap); ``precheck`` an optional
    regex the lower-cased line must match before the detector is loaded."""

    __slots__ = ("anchors", "precheck", "quick", "target")

    def __init__(self, target: str, anchors: tuple[bytes, ...],
                 precheck: bytes | None = None, quick: str | None = None) -> None:
        self.target = target
        self.anchors = anchors
        self.precheck = precheck
        # A check without regexes that a hit of a bare-word anchor must pass before the
        # regex engine is even imported: "assignment" (NAME = "literal") or "userinfo"
        # (scheme://user:password@).
        self.quick = quick

    def __repr__(self) -> str:
        return f"Provider({self.target})"

    @property
    def name(self) -> str:
        return self.target.rpartition(":")[2]

    @property
    def builtin(self) -> bool:
        """True for detect-secrets' own plugins (a baseline names them without a path)."""
        return self.target.startswith("detect_secrets.")


_DS = "detect_secrets.plugins."
_HERE = "ossa_hooks.secrets.plugins."

PROVIDERS: tuple[Provider, ...] = (
    # Most providers are rules (``ossa_hooks/secrets/rules/*.toml``, added by the engine);
    # these detect-secrets plugins stay for the formats the rules leave to them.
    Provider(
        _DS + "discord:DiscordBotTokenDetector",
        (rb"discord",),
        rb"[mno][a-z\d_-]{23,25}\.[a-z\d_-]{6}\.[a-z\d_-]{27}",
    ),
    Provider(
        _DS + "mailchimp:MailchimpDetector", (rb"-us[0-9]",), rb"[0-9a-z]{32}-us[0-9]{1,2}"
    ),
    Provider(
        _DS + "telegram_token:TelegramBotTokenDetector",
        (rb":aa[0-9a-z_-]{33}",),
        rb"\d{8,10}:aa[0-9a-z_-]{33}",
    ),
    Provider(_DS + "twilio:TwilioKeyDetector", (rb"ac[a-z0-9]{32}", rb"sk[a-z0-9]{32}")),
    # --- keyword assignments (own engine; no detect-secrets import) -------------------------
    Provider(
        _HERE + "keyword:KeywordDetector",
        (rb"pass", rb"pw", rb"secret", rb"token", rb"key", rb"auth", rb"cred", rb"bearer",
         rb"salt", rb"signature", rb"cookie", rb"contrase"),
        quick="assignment",
    ),
)

KEYWORD_TARGET = _HERE + "keyword:KeywordDetector"


def anchor_groups(
    providers: tuple[Provider, ...] = PROVIDERS,
) -> list[tuple[bytes, bytes, tuple[tuple[bytes, tuple[int, ...]], ...]]]:
    """The anchors as few regexes as possible: those starting with the same two literal bytes
    become one ``XY(?:(rest1)|(rest2)…)``, one pass over the diff instead of several (a
    one-byte prefix would make the regex engine stop too often).

    Each group is (its literal prefix, its regex pattern, its alternatives), each alternative
    with its own pattern and the indexes of the providers it belongs to. Patterns are left
    uncompiled: a small commit compiles only the groups whose prefix it contains.
    """
    by_anchor: dict[bytes, list[int]] = {}
    for i, p in enumerate(providers):
        for a in p.anchors:
            by_anchor.setdefault(a, []).append(i)
    by_first: dict[bytes, list[bytes]] = {}
    for a in by_anchor:
        by_first.setdefault(_prefix(a), []).append(a)
    out = []
    for first, anchors in by_first.items():
        literal = first.replace(b"\\", b"")
        rests = b"|".join(b"(" + a[len(first):] + b")" for a in anchors)
        pattern = _escape(literal) + b"(?:" + rests + b")"
        out.append((literal, pattern, tuple((a, tuple(by_anchor[a])) for a in anchors)))
    return out


def _prefix(anchor: bytes) -> bytes:
    """The literal first two characters of an anchor regex (an escaped one counts as one)."""
    out = b""
    i = 0
    while len(out.replace(b"\\", b"")) < 2 and i < len(anchor):
        ch = anchor[i : i + 1]
        if ch == b"\\":
            out += anchor[i : i + 2]
            i += 2
            continue
        if ch in b"[(.?*+{|^$":
            break
        out += ch
        i += 1
    return out


def _escape(literal: bytes) -> bytes:
    return b"".join(b"\\" + bytes([c]) if not chr(c).isalnum() and c != 95 else bytes([c])
                    for c in literal)


def quick_anchors(
    providers: tuple[Provider, ...] = PROVIDERS,
) -> list[tuple[bytes, bytes | None, int, str | None]]:
    """Each distinct anchor as (literal prefix, allowed tail bytes or None, tail length, quick
    check): what can be tested with ``bytes.find`` and ``bytes.translate`` alone, a superset
    of what the anchor's regex matches. ``ac[a-z0-9]{32}`` -> (b"ac", b"abc…789", 32, None)."""
    out: dict[bytes, tuple[bytes, bytes | None, int, str | None]] = {}
    for p in providers:
        for a in p.anchors:
            literal, rest = _literal_prefix(a)
            allowed, count = _class_run(rest)
            out[a] = (literal, allowed, count, p.quick)
    return list(out.values())


def _literal_prefix(anchor: bytes) -> tuple[bytes, bytes]:
    out = b""
    i = 0
    while i < len(anchor):
        ch = anchor[i : i + 1]
        if ch == b"\\" and i + 1 < len(anchor) and not anchor[i + 1 : i + 2].isalnum():
            out += anchor[i + 1 : i + 2]
            i += 2
            continue
        if ch in b"\\[(.?*+{|^$":
            break
        out += ch
        i += 1
    return out, anchor[i:]


def _class_run(rest: bytes) -> tuple[bytes | None, int]:
    """``[class]{n}``, ``[class]{n,}``, ``[class]{n,m}`` or ``[class]`` at the start of
    ``rest`` as (the bytes the class allows, n); (None, 0) for anything else."""
    if not rest.startswith(b"[") or b"]" not in rest[2:]:
        return None, 0
    end = rest.index(b"]", 2)
    body, after = rest[1:end], rest[end + 1 :]
    allowed = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == 92 and i + 1 < len(body):  # backslash escape
            allowed.append(body[i + 1])
            i += 2
        elif i + 2 < len(body) and body[i + 1] == 45:  # a-z
            allowed.extend(range(c, body[i + 2] + 1))
            i += 3
        else:
            allowed.append(c)
            i += 1
    count = 1
    if after.startswith(b"{"):
        digits = after[1:].split(b"}", 1)[0].split(b",", 1)[0]
        count = int(digits) if digits.isdigit() else 1
    return bytes(allowed), count


# Files whose values may be written without quotes (YAML, INI, .env, shell, Dockerfile…).
_CONFIG_SUFFIXES = frozenset(
    """.env .ini .cfg .conf .config .properties .yaml .yml .toml .sh .bash .zsh .ksh .envrc
    .npmrc .pypirc .netrc .htpasswd .tfvars .pgpass .dockerfile .service .desktop""".split()
)
_CONFIG_NAMES = frozenset({"dockerfile", ".env", ".envrc", ".npmrc", ".pypirc", ".netrc",
                           "containerfile", ".pgpass", "env"})


def is_config_file(path: str) -> bool:
    """True for files whose values may be bare (YAML, INI, .env, shell, Dockerfile…)."""
    name = path.rpartition("/")[2].lower()
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    return (name in _CONFIG_NAMES or name.startswith(".env") or suffix in _CONFIG_SUFFIXES
            or name.endswith(".env"))
