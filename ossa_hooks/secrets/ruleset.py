"""Secret rules as data: the files of ``ossa_hooks/secrets/rules/``, loaded and checked.

A rule file is TOML with ``[[rule]]`` tables. A rule is either a *token* (``regex``: the
provider's token format, with the ``keywords`` that must appear on the line before the regex
runs) or an *assignment* (``names``: words the variable or key name contains, ``secret``: what
the value looks like; the rule then matches ``<name> <operator> <value>`` in any common syntax:
``=``, ``:``, ``:=``, ``::=``, ``?=``, ``.=``, ``=>``, ``,`` as in ``setProperty("X", "v")``, ``>``
as in ``<xToken>v</xToken>``). Optional: ``entropy`` (least Shannon bits per character of the
secret), ``group`` (which regex group is the secret; default the first that matched, else the
whole match), ``allow`` (regexes: a secret matching one is not reported), ``stopwords`` (a
secret containing one, case-insensitively, is not reported).

Errors name the file and the rule: a rule set that does not load is a configuration error
(exit 2), never a traceback. gitleaks' own configuration format is read by ``gitleaks_config``.
"""

from __future__ import annotations

import os

from ossa_hooks.errors import OssaError

# The hook imports this module: no dataclasses, typing or re at import time (each costs
# milliseconds of the commit's budget); regexes are compiled on first use.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable
    from collections.abc import Sequence
    from typing import Any

RULES_DIR = os.path.join(os.path.dirname(__file__), "rules")
CACHE_VERSION = 1

# What may stand between the name and the value: the end of a quoted key or a type
# (``var x string =``), then the operator.
_NAME_TAIL = r"[\w.\-]{0,20}?(?:[ \t]+[\w.\[\]]{1,20}){0,2}?"
_OPERATOR = r"""["'`]?\]?[ \t]*(?:\|\||\?\?=|:{1,3}=|\?=|\.=|\+=|=>|!=|[=:,>])"""
_BEFORE_VALUE = r"""[ \t]*(?:[rRbBuU@]?["'`]|\\["']){0,2}[ \t]*(?:\r?\n[ \t]*)?"""
_AFTER_VALUE = r"""(?=$|[\s"'`;,<)\]}&|]|\\[nrt"'])"""


class Rule:
    """One rule; its regexes are compiled on first use."""

    __slots__ = ("_allow", "_paths", "_regex", "allow_patterns", "entropy", "group", "id",
                 "keywords", "name", "path_pattern", "pattern", "source", "stopwords")

    def __init__(self, id: str, name: str, pattern: str, keywords: tuple[str, ...],
                 entropy: float = 0.0, group: int | None = None,
                 allow_patterns: tuple[str, ...] = (), stopwords: tuple[str, ...] = (),
                 source: str = "", path_pattern: str | None = None) -> None:
        self.id = id
        self.name = name
        self.pattern = pattern
        self.keywords = keywords
        self.entropy = entropy
        self.group = group
        self.allow_patterns = allow_patterns
        self.stopwords = stopwords
        self.source = source
        self.path_pattern = path_pattern
        self._regex: re.Pattern[str] | None = None
        self._allow: tuple[re.Pattern[str], ...] | None = None
        self._paths: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Rule({self.id})"

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.id, self.name, self.pattern, self.keywords, self.entropy, self.group,
                self.allow_patterns, self.stopwords, self.source, self.path_pattern)

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            import re

            self._regex = re.compile(self.pattern)
        return self._regex

    def applies_to(self, path: str) -> bool:
        if self.path_pattern is None:
            return True
        if self._paths is None:
            import re

            self._paths = re.compile(self.path_pattern)
        return self._paths.search(path) is not None

    def find(self, line: str) -> list[str]:
        """The secrets this rule finds on ``line`` (keywords already checked by the caller)."""
        out = []
        for m in self.regex.finditer(line):
            value = self._value(m)
            if not value or (self.entropy and shannon_entropy(value) < self.entropy):
                continue
            if self.allow_patterns:
                if self._allow is None:
                    import re

                    self._allow = tuple(re.compile(a) for a in self.allow_patterns)
                if any(a.search(value) for a in self._allow):
                    continue
            low = value.lower()
            if any(s in low for s in self.stopwords):
                continue
            out.append(value)
        return out

    def _value(self, m: re.Match[str]) -> str:
        if self.group is not None:
            return m.group(self.group) or ""
        for g in m.groups():
            if g:
                return g
        return m.group(0)


class RuleSet:
    """Rules and, per lower-cased keyword, the rules it unlocks."""

    __slots__ = ("_automaton", "always", "by_keyword", "rules")

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.by_keyword: dict[str, list[Rule]] = {}
        self.always: list[Rule] = []  # no keywords: run on every candidate line
        self._automaton: Any = None

    def add(self, rule: Rule) -> None:
        self.rules.append(rule)
        if not rule.keywords:
            self.always.append(rule)
        for k in rule.keywords:
            self.by_keyword.setdefault(k, []).append(rule)

    def keywords(self) -> list[str]:
        return sorted(self.by_keyword)

    def candidates(self, lowered: str) -> list[Rule]:
        """The rules whose keywords ``lowered`` (a lower-cased line) holds."""
        seen: dict[str, Rule] = {r.id: r for r in self.always}
        for k in self._keywords_in(lowered):
            for r in self.by_keyword[k]:
                seen.setdefault(r.id, r)
        return list(seen.values())

    def _keywords_in(self, lowered: str) -> Iterable[str]:
        if self._automaton is None:
            try:
                import ahocorasick
            except ImportError:
                self._automaton = False
            else:
                auto = ahocorasick.Automaton()
                for k in self.by_keyword:
                    auto.add_word(k, k)
                if len(auto):
                    auto.make_automaton()
                self._automaton = auto if len(auto) else False
        if self._automaton is False:
            return [k for k in self.by_keyword if k in lowered]
        return {k for _, k in self._automaton.iter(lowered)}


def shannon_entropy(value: str) -> float:
    from math import log2

    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * log2(c / n) for c in counts.values()) if n else 0.0


def assignment_regex(names: Sequence[str], secret: str, *, case_insensitive: bool = True) -> str:
    """``<a name containing one of names> <operator> <secret>`` in the common syntaxes."""
    words = "|".join(names)
    value = f"(?i:{secret})" if case_insensitive else secret
    return (rf"(?i:[\w.\-]{{0,50}}?(?:{words}){_NAME_TAIL}){_OPERATOR}{_BEFORE_VALUE}"
            rf"({value}){_AFTER_VALUE}")


# --- loading and checking -------------------------------------------------------------------

_KNOWN = frozenset({"id", "name", "description", "regex", "names", "secret", "keywords", "entropy",
                    "group", "allow", "stopwords", "case_insensitive", "path"})


def load_toml(path: str, shown: str) -> dict[str, Any]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    try:
        with open(path, "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except OSError as e:
        raise OssaError(f"{shown}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise OssaError(f"{shown}: not valid TOML: {e}") from None
    return data


def rule_from_table(table: dict[str, Any], where: str) -> Rule:
    """One ``[[rule]]`` table, checked (its regexes compiled): errors name ``where`` and the
    rule's id."""
    import re

    rid = table.get("id")
    if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,80}", rid):
        raise OssaError(f"{where}: a rule has no valid id (letters, digits, '-', '_', '.'): "
                        f"{rid!r}")
    here = f"{where}: rule {rid}"
    unknown = set(table) - _KNOWN
    if unknown:
        raise OssaError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}")
    name = table.get("name") or rid
    if not isinstance(name, str):
        raise OssaError(f"{here}: name must be a string")
    regex, names = table.get("regex"), table.get("names")
    if (regex is None) == (names is None):
        raise OssaError(f"{here}: give either regex (a token) or names and secret (an "
                        "assignment)")
    if names is not None:
        if not _strings(names) or not names or not isinstance(table.get("secret"), str):
            raise OssaError(f"{here}: names must be a list of strings and secret a regex")
        pattern = assignment_regex(names, table["secret"],
                                   case_insensitive=bool(table.get("case_insensitive", True)))
        keywords = table.get("keywords", [re.sub(r"\[[^\]]*\][?*]?|\\.|[?*]", "", n)
                                          for n in names])
    else:
        if not isinstance(regex, str):
            raise OssaError(f"{here}: regex must be a string")
        pattern = go_to_python(regex)
        keywords = table.get("keywords", [])
    if not _strings(keywords):
        raise OssaError(f"{here}: keywords must be a list of strings")
    compiled = _compile(pattern, here)
    entropy = table.get("entropy", 0.0)
    if not isinstance(entropy, (int, float)) or not 0 <= entropy <= 8:
        raise OssaError(f"{here}: entropy must be a number from 0 to 8")
    group = table.get("group")
    if group is not None and (not isinstance(group, int) or not 0 <= group <= compiled.groups):
        raise OssaError(f"{here}: group must be 0..{compiled.groups} (the regex's groups)")
    allow = [go_to_python(a) for a in table.get("allow", []) if isinstance(a, str)]
    stop = table.get("stopwords", [])
    if not _strings(table.get("allow", [])) or not _strings(stop):
        raise OssaError(f"{here}: allow and stopwords must be lists of strings")
    for a in allow:
        _compile(a, f"{here}: allow")
    path = table.get("path")
    if path is not None:
        if not isinstance(path, str):
            raise OssaError(f"{here}: path must be a regex")
        path = go_to_python(path)
        _compile(path, f"{here}: path")
    return Rule(rid, name, pattern, tuple(k.lower() for k in keywords if k), float(entropy),
                group, tuple(allow), tuple(s.lower() for s in stop), where, path)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    import re

    try:
        return re.compile(pattern)
    except re.error as e:
        raise OssaError(f"{where}: invalid regex: {e}") from None


def go_to_python(pattern: str) -> str:
    """Go (RE2) syntax that Python spells differently: ``\\z``, POSIX classes, a flag group in
    the middle of a pattern (Python wants global flags first: it becomes a scoped group)."""
    import re

    pattern = pattern.replace(r"\z", r"\Z").replace("[[:alnum:]]", "[A-Za-z0-9]")
    pattern = pattern.replace("[[:alpha:]]", "[A-Za-z]").replace("[[:digit:]]", "[0-9]")
    pattern = pattern.replace(r"\x60", "`")
    flag = re.compile(r"\(\?([imsU]+)\)")
    m = flag.search(pattern)
    while m is not None:
        flags = m.group(1).replace("U", "")
        rest = pattern[m.end():]
        # The flag applies to the rest of the enclosing group: close the scope there.
        depth, end = 0, len(rest)
        for i, ch in enumerate(rest):
            if ch == "\\":
                continue
            if ch == "(" and (i == 0 or rest[i - 1] != "\\"):
                depth += 1
            elif ch == ")" and (i == 0 or rest[i - 1] != "\\"):
                if depth == 0:
                    end = i
                    break
                depth -= 1
        scoped = f"(?{flags}:{rest[:end]})" if flags else rest[:end]
        pattern = pattern[: m.start()] + scoped + rest[end:]
        m = flag.search(pattern, m.start() + 3)
    return pattern


def load_file(path: str, into: RuleSet, seen: dict[str, str]) -> None:
    rel = os.path.relpath(path)
    shown = path if rel.startswith("..") else rel
    data = load_toml(path, shown)
    tables = data.get("rule")
    if not isinstance(tables, list):
        raise OssaError(f"{shown}: no [[rule]] tables")
    for table in tables:
        if not isinstance(table, dict):
            raise OssaError(f"{shown}: rule must be a table")
        rule = rule_from_table(table, shown)
        if rule.id in seen:
            raise OssaError(f"{shown}: rule {rule.id} is defined twice (also in {seen[rule.id]})")
        seen[rule.id] = shown
        into.add(rule)


def load_paths(paths: Iterable[str]) -> RuleSet:
    """Rule files, every rule checked (regexes compiled)."""
    rs = RuleSet()
    seen: dict[str, str] = {}
    for p in paths:
        load_file(p, rs, seen)
    return rs


def builtin_files() -> list[str]:
    return [os.path.join(RULES_DIR, n) for n in sorted(os.listdir(RULES_DIR))
            if n.endswith(".toml")]


_DEFAULT: list[RuleSet] = []


def default_rules() -> RuleSet:
    """The built-in rules, once per process. Parsing and checking them takes longer than a
    commit may, so the checked rules are kept in a cache file (marshal) keyed by the rule
    files' sizes and times; a missing or stale cache is rebuilt, an unwritable one skipped."""
    if _DEFAULT:
        return _DEFAULT[0]
    import marshal

    files = builtin_files()
    key: list[object] = [CACHE_VERSION]
    for f in files:
        st = os.stat(f)
        key += [os.path.basename(f), st.st_size, st.st_mtime_ns]
    rs = RuleSet()
    for cache in _cache_files():
        try:
            with open(cache, "rb") as fh:
                stored_key, rows = marshal.load(fh)  # noqa: S302 - our own cache file
            if stored_key == key:
                for row in rows:
                    rs.add(Rule(*row))
                break
        except (OSError, ValueError, EOFError, TypeError):
            continue
    else:
        rs = load_paths(files)
        for cache in _cache_files():
            try:
                os.makedirs(os.path.dirname(cache), exist_ok=True)
                tmp = f"{cache}.{os.getpid()}"
                with open(tmp, "wb") as fh:
                    marshal.dump((key, [r.as_tuple() for r in rs.rules]), fh)
                os.replace(tmp, cache)
                break
            except OSError:
                continue
    _DEFAULT.append(rs)
    return rs


def _cache_files() -> list[str]:
    """Beside the rules (``__pycache__``, where Python keeps its own caches) when that folder
    can be written, else in the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [os.path.join(RULES_DIR, "__pycache__", "rules.marshal"),
            os.path.join(base, "ossa-hooks", "secret-rules.marshal")]
