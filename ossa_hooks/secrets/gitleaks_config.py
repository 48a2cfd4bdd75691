"""gitleaks' configuration file, ``.gitleaks.toml`` at the top of the repository, read as is.

- ``[[rules]]``: each rule (``id``, ``description``, ``regex``, ``secretGroup``, ``entropy``,
  ``keywords``, ``path``, and its ``[rules.allowlist]`` / ``[[rules.allowlists]]``: ``regexes``,
  ``stopwords``) becomes a rule of the rule set. A rule with only a ``path`` (a file name
  pattern, no regex) is not supported and named in the error.
- ``[extend] useDefault = true`` keeps the built-in rules beside the custom ones (minus
  ``disabledRules``); without it, as in gitleaks, the file's rules replace the built-in rule
  set (ossa-hooks' keyword and detect-secrets checks stay).
- ``[allowlist]`` and ``[[allowlists]]`` (global): ``paths``, ``regexes``, ``stopwords``,
  ``commits``; ``targetRules`` limits one to some rules.

Errors name the file and the rule (exit 2).
"""

from __future__ import annotations

import os

from ossa_hooks.errors import OssaError
from ossa_hooks.secrets.ruleset import Rule
from ossa_hooks.secrets.ruleset import RuleSet
from ossa_hooks.secrets.ruleset import default_rules
from ossa_hooks.secrets.ruleset import go_to_python
from ossa_hooks.secrets.ruleset import load_toml
from ossa_hooks.secrets.ruleset import rule_from_table

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

    from ossa_hooks.secrets.scanner import Finding

FILE_NAME = ".gitleaks.toml"


class Allowlist:
    """One global allowlist: a finding it matches is dropped."""

    __slots__ = ("commits", "paths", "regexes", "rules", "stopwords")

    def __init__(self, table: dict[str, Any], where: str) -> None:
        import re

        def patterns(key: str) -> tuple[re.Pattern[str], ...]:
            values = table.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise OssaError(f"{where}: {key} must be a list of strings")
            try:
                return tuple(re.compile(go_to_python(v)) for v in values)
            except re.error as e:
                raise OssaError(f"{where}: {key}: invalid regex: {e}") from None

        self.paths = patterns("paths")
        self.regexes = patterns("regexes")
        self.stopwords = tuple(str(s).lower() for s in table.get("stopwords", []))
        self.commits = frozenset(str(c) for c in table.get("commits", []))
        self.rules = frozenset(str(r) for r in table.get("targetRules", []))

    def drops(self, finding: Finding) -> bool:
        if self.rules and finding.kind not in self.rules:
            return False
        if finding.commit and any(finding.commit.startswith(c) for c in self.commits):
            return True
        if any(p.search(finding.path) for p in self.paths):
            return True
        if any(r.search(finding.secret) for r in self.regexes):
            return True
        low = finding.secret.lower()
        return any(s in low for s in self.stopwords)


class GitleaksConfig:
    __slots__ = ("allowlists", "rules")

    def __init__(self, rules: RuleSet, allowlists: list[Allowlist]) -> None:
        self.rules = rules
        self.allowlists = allowlists

    def drops(self, finding: Finding) -> bool:
        return any(a.drops(finding) for a in self.allowlists)


def find(root: str | os.PathLike[str] | None) -> str | None:
    if root is None:
        return None
    path = os.path.join(os.fspath(root), FILE_NAME)
    return path if os.path.isfile(path) else None


def load(path: str, shown: str = FILE_NAME) -> GitleaksConfig:
    data = load_toml(path, shown)
    extend = data.get("extend", {})
    if not isinstance(extend, dict):
        raise OssaError(f"{shown}: [extend] must be a table")
    if extend.get("path") or extend.get("url"):
        raise OssaError(f"{shown}: [extend] path/url is not supported; copy the rules into "
                        f"{FILE_NAME} or use useDefault = true")
    rules = RuleSet()
    disabled = {str(d) for d in extend.get("disabledRules", [])}
    if extend.get("useDefault"):
        for rule in default_rules().rules:
            if rule.id not in disabled:
                rules.add(rule)
    tables = data.get("rules", [])
    if not isinstance(tables, list):
        raise OssaError(f"{shown}: rules must be an array of tables ([[rules]])")
    ids = {r.id for r in rules.rules}
    for table in tables:
        if not isinstance(table, dict):
            raise OssaError(f"{shown}: [[rules]] entries must be tables")
        rule = _rule(table, shown)
        if rule.id in ids:  # a custom rule with a built-in id replaces the built-in one
            rules.rules = [r for r in rules.rules if r.id != rule.id]
            rules.always = [r for r in rules.always if r.id != rule.id]
            rules.by_keyword = {k: [r for r in v if r.id != rule.id]
                                for k, v in rules.by_keyword.items()}
        ids.add(rule.id)
        rules.add(rule)
    allowlists = []
    for key in ("allowlist", "allowlists"):
        value = data.get(key)
        for i, table in enumerate(value if isinstance(value, list) else [value] if value else []):
            if not isinstance(table, dict):
                raise OssaError(f"{shown}: [{key}] must be a table")
            allowlists.append(Allowlist(table, f"{shown}: {key}[{i}]"))
    return GitleaksConfig(rules, allowlists)


def _rule(table: dict[str, Any], shown: str) -> Rule:
    rid = table.get("id")
    where = f"{shown}: rule {rid}"
    if "regex" not in table:
        raise OssaError(f"{where}: a rule without a regex (path only) is not supported")
    allow: list[str] = []
    stop: list[str] = []
    lists = table.get("allowlists", [])
    single = table.get("allowlist")
    for al in ([single] if isinstance(single, dict) else []) + (
            lists if isinstance(lists, list) else []):
        if not isinstance(al, dict):
            raise OssaError(f"{where}: allowlists must be tables")
        allow.extend(str(r) for r in al.get("regexes", []))
        stop.extend(str(s) for s in al.get("stopwords", []))
    ours: dict[str, Any] = {
        "id": rid,
        "name": rid,  # what gitleaks reports too (and what targetRules names)
        "regex": table["regex"],
        "keywords": [str(k) for k in table.get("keywords", [])],
        "allow": allow,
        "stopwords": stop,
    }
    if "entropy" in table:
        ours["entropy"] = table["entropy"]
    if "secretGroup" in table:
        ours["group"] = table["secretGroup"]
    if "path" in table:
        ours["path"] = table["path"]
    return rule_from_table(ours, shown)
