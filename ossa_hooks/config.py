"""``.ossa-hooks.yaml``: the schema, its defaults, and validation with file:line errors."""

from __future__ import annotations

import os

from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

CONFIG_NAME = ".ossa-hooks.yaml"

HOOK_TYPES = ("post-checkout", "pre-commit", "pre-push", "post-merge", "pre-rebase",
              "reference-transaction")


# --- the schema: a tree of small spec objects ---------------------------------------------


# Plain slotted classes rather than dataclasses: every hook imports this module, and
# ``dataclasses`` (with ``inspect``) costs more start-up time than the rest of the hook.


class Scalar:
    """A leaf: ``kind`` is one of str, int, number, bool; ``default`` when absent.

    Values are checked beyond their type: numbers are finite and at least ``minimum`` (greater
    than it with ``above``); ``rule`` names a check in :mod:`ossa_hooks.config_rules`.
    """

    __slots__ = ("above", "choices", "default", "kind", "minimum", "nullable", "rule")

    def __init__(
        self,
        kind: str,
        default: Any = None,
        nullable: bool = False,
        choices: tuple[str, ...] = (),
        *,
        minimum: float | None = None,
        above: bool = False,
        rule: str | None = None,
    ) -> None:
        self.kind = kind
        self.default = default
        self.nullable = nullable
        self.choices = choices
        self.minimum = minimum
        self.above = above
        self.rule = rule


class ListOf:
    """A list whose items all follow ``item`` (a scalar, or any spec such as an ``Obj``)."""

    __slots__ = ("default", "item")

    def __init__(self, item: Spec, default: tuple[Any, ...] = ()) -> None:
        self.item = item
        self.default = default


class Obj:
    """A mapping with known keys (unknown keys are an error with a suggestion).

    With ``shorthand`` set, a plain scalar stands for ``{shorthand: scalar}`` (so
    ``provider: aider`` reads as ``provider: {type: aider}``).
    """

    __slots__ = ("keys", "shorthand")

    def __init__(self, keys: Mapping[str, Spec], shorthand: str | None = None) -> None:
        self.keys = keys
        self.shorthand = shorthand


class MapOf:
    """A mapping with free keys whose values follow ``value``; ``default`` when absent."""

    __slots__ = ("default", "value")

    def __init__(self, value: Spec, default: Mapping[str, Any] | None = None) -> None:
        self.value = value
        self.default: Mapping[str, Any] = default or {}


Spec = Scalar | ListOf | Obj | MapOf

_EXPECTED = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false"}

CHECK = Obj(
    {
        "run": Scalar("str", rule="command"),
        "timeout": Scalar("number", default=None, nullable=True, minimum=0, above=True),
        "env": MapOf(Scalar("str")),
        "paths": ListOf(Scalar("str")),
        "enabled": Scalar("bool", default=True),
        # judge: run only when the judged tree has one of these (FILE, or FILE:LINE-PREFIX)
        "if_configured": ListOf(Scalar("str")),
    }
)

_ACTION_IDS = (
    "ossa-backup",
    "ossa-secrets",
    "ossa-gitignore",
    "ossa-judge",
    "ossa-cleanup",
    "ossa-budget",
    "ossa-guard",
)

SCHEMA = Obj(
    {
        "version": Scalar("int", default=1, rule="version"),
        "hooks": Obj(
            {
                "post-checkout": ListOf(Scalar("str", choices=_ACTION_IDS),
                                        ("ossa-guard", "ossa-backup")),
                "pre-rebase": ListOf(Scalar("str", choices=_ACTION_IDS), ("ossa-backup",)),
                "pre-commit": ListOf(
                    Scalar("str", choices=_ACTION_IDS),
                    ("ossa-guard", "ossa-secrets", "ossa-gitignore"),
                ),
                "pre-push": ListOf(Scalar("str", choices=_ACTION_IDS),
                                   ("ossa-guard", "ossa-judge")),
                "post-merge": ListOf(
                    Scalar("str", choices=_ACTION_IDS), ("ossa-budget", "ossa-cleanup")
                ),
                "reference-transaction": ListOf(Scalar("str", choices=_ACTION_IDS),
                                                ("ossa-guard",)),
            }
        ),
        "base_branch": Scalar("str", default=None, nullable=True, rule="branch"),
        "worktree_root": Scalar("str", default=".worktrees", rule="inside_repository"),
        "integration_branch": Scalar("str", default="{base}-agents-merge-{date}",
                                     rule="ref_pattern"),
        "backup": Obj(
            {
                "push": Scalar("bool", default=False),
                "remote": Scalar("str", default="origin"),
                "keep": Scalar("int", default=50, minimum=0),
                # Removed worktrees: kept this many days, and the oldest deleted while the
                # trash holds more than this many megabytes (the newest is always kept).
                "trash": Obj(
                    {
                        "keep_days": Scalar("number", default=14.0),
                        "max_size_mb": Scalar("number", default=2048.0),
                    }
                ),
                # `ossa-hooks backup watch`: snapshot on every change (debounced); the
                # post-checkout hook starts one per worktree when enabled.
                "watch": Obj(
                    {
                        "enabled": Scalar("bool", default=False),
                        "debounce_seconds": Scalar("number", default=2.0),
                        "idle_minutes": Scalar("number", default=30.0),
                    }
                ),
            }
        ),
        "secrets": Obj(
            {
                "baseline": Scalar("str", default=".secrets.baseline"),
                "exclude": ListOf(Scalar("str", rule="not_everything")),
                "max_file_size": Scalar("int", default=2_000_000, minimum=0, above=True),
                "entropy": Scalar("bool", default=True),
            }
        ),
        "gitignore": Obj(
            {
                "forbidden": ListOf(
                    Scalar("str", rule="single_line"),
                    (
                        ".env",
                        ".env.*",
                        "!.env.example",
                        "*.pem",
                        "*.key",
                        "id_rsa*",
                        "*.p12",
                        "credentials.json",
                        ".worktrees/",
                        ".agents-workspace/logs/",
                        ".agents-workspace/metrics/",
                    ),
                ),
                "required": ListOf(
                    Scalar("str", rule="single_line"),
                    (
                        ".env",
                        ".env.*",
                        "!.env.example",
                        ".worktrees/",
                        ".agents-workspace/logs/",
                        ".agents-workspace/metrics/",
                    ),
                ),
                # What the pre-commit hook does when .gitignore lacks a required entry.
                "check_required": Scalar("str", default="warn", choices=("warn", "fail", "ignore")),
            }
        ),
        "judge": Obj(
            {
                "jobs": Scalar("int", default=0, minimum=0),
                "cache": Scalar("bool", default=True),
                "checks": MapOf(
                    CHECK,
                    default={
                        # The project's interpreter runs its tests (judge/environment.py).
                        "tests": {"run": "python -m pytest -q", "timeout": 900.0, "env": {},
                                  "paths": [], "enabled": True, "if_configured": []},
                        # Checks read, never write: --no-fix although a project sets fix = true
                        # (judge/ruff.py; the files changed since the base when there is one).
                        "lint": {"run": "ossa-hooks ruff check", "timeout": 300.0, "env": {},
                                 "paths": [], "enabled": True, "if_configured": []},
                        "format": {"run": "ossa-hooks ruff format", "timeout": 300.0, "env": {},
                                   "paths": [], "enabled": True,
                                   "if_configured": ["pyproject.toml:[tool.ruff.format]",
                                                     "ruff.toml:[format]", ".ruff.toml:[format]",
                                                     ".pre-commit-config.yaml:- id: ruff-format"]},
                        # bandit with the project's own configuration, else medium severity and
                        # up with B101 skipped in test files (judge/bandit.py).
                        "security": {"run": "ossa-hooks bandit", "timeout": 600.0, "env": {},
                                     "paths": [], "enabled": True, "if_configured": []},
                    },
                ),
            }
        ),
        "budget": Obj(
            {
                "task": Scalar("int", default=12_000, minimum=0),
                "agents": MapOf(
                    Scalar("int", minimum=0),
                    default={"researcher": 4000, "coder": 4000, "reviewer": 2000},
                ),
                "escalate_command": Scalar("str", default=None, nullable=True),
                "encoding": Scalar("str", default="cl100k_base"),
                "expected_output": Scalar("int", default=200),
            }
        ),
        "workflow": Obj(
            {
                "max_review_rounds": Scalar("int", default=2, minimum=0),
                "agent_timeout": Scalar("number", default=1800.0, minimum=0, above=True),
                "memories": Scalar("int", default=5, minimum=0),
                "repo_map_files": Scalar("int", default=200, minimum=0),
                # While an agent runs, `backup watch` snapshots its worktree on every change
                # (so its `git reset --hard` or `rm -rf` costs at most the last seconds).
                "watch_agents": Scalar("bool", default=True),
            }
        ),
        "guard": Obj(
            {
                # Branch patterns (fnmatch) an agent may create, move and delete besides its
                # own namespace agents/NAME/ (e.g. worktree-* for Claude Code's subagents).
                "allow_branches": ListOf(Scalar("str")),
            }
        ),
    }
)


# --- the value -------------------------------------------------------------------------------


class Config:
    """A validated configuration: ``data`` holds every key, defaults filled in."""

    __slots__ = ("data", "path")

    def __init__(self, data: Mapping[str, Any], path: str | None = None) -> None:
        self.data = data
        self.path = path

    def get(self, dotted: str) -> Any:
        """The value at ``a.b.c``."""
        value: Any = self.data
        for part in dotted.split("."):
            value = value[part]
        return value


def defaults(spec: Spec = SCHEMA) -> Any:
    """The value a spec takes when its key is absent."""
    if isinstance(spec, Scalar):
        return spec.default
    if isinstance(spec, ListOf):
        return [_copy(v) for v in spec.default]
    if isinstance(spec, MapOf):
        return {k: _copy(v) for k, v in spec.default.items()}
    return {k: defaults(s) for k, s in spec.keys.items()}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


def load(
    worktree: str | os.PathLike[str] | None, cache_dir: str | os.PathLike[str] | None = None
) -> Config:
    """Load ``.ossa-hooks.yaml`` from ``worktree`` (defaults when there is none).

    With ``cache_dir`` (a worktree's git dir), the validated value is kept in a marshal file
    keyed by the config file's stat and this module's: a hook then skips YAML entirely.
    """
    if worktree is None:
        return Config(defaults())
    path = os.path.join(worktree, CONFIG_NAME)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Config(defaults())
    except OSError as e:
        raise OssaError(f"{CONFIG_NAME}: cannot read: {e.strerror}") from None
    key = (st.st_mtime_ns, st.st_size, st.st_ino, os.stat(__file__).st_mtime_ns)
    cache = os.path.join(cache_dir, "ossa-hooks-config.cache") if cache_dir is not None else None
    if cache is not None:
        data = _read_cache(cache, key)
        if data is not None:
            return Config(data, path)
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        raise OssaError(f"{CONFIG_NAME}: cannot read: {e.strerror}") from None
    data = parse(text, CONFIG_NAME)
    if cache is not None:
        _write_cache(cache, key, data)
    return Config(data, path)


def _read_cache(cache: str, key: tuple[int, ...]) -> dict[str, Any] | None:
    import marshal

    try:
        with open(cache, "rb") as f:
            # Our own file in the repository's git dir, written by _write_cache.
            stored_key, data = marshal.load(f)  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return data if stored_key == key and isinstance(data, dict) else None


def _write_cache(cache: str, key: tuple[int, ...], data: dict[str, Any]) -> None:
    import marshal

    tmp = f"{cache}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            marshal.dump((key, data), f)
        os.replace(tmp, cache)
    except OSError:  # a cache that cannot be written only costs speed
        from contextlib import suppress

        with suppress(OSError):
            os.unlink(tmp)


def parse(text: bytes | str, name: str, schema: Obj = SCHEMA) -> dict[str, Any]:
    """Validate YAML ``text`` against ``schema``; errors read ``NAME:LINE: key.path: problem``."""
    return parse_with_lines(text, name, schema)[0]


def parse_with_lines(
    text: bytes | str, name: str, schema: Obj = SCHEMA
) -> tuple[dict[str, Any], dict[str, int]]:
    """Like ``parse``, plus the line of every key path found (``a.b[0]`` -> line), so checks
    that span several keys can still point at a line: ``fail_at(name, lines, path, problem)``."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 1
        raise OssaError(f"{name}:{line}: invalid YAML: {e.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise OssaError(f"{name}:1: invalid YAML: {e}") from None
    if node is None:
        return dict(defaults(schema)), {}
    validator = _Validator(name, loader)
    return dict(validator.value(node, schema, "")), validator.lines


def fail_at(name: str, lines: Mapping[str, int], key: str, problem: str) -> OssaError:
    """An error at the line of ``key`` (or of its nearest parent that has one)."""
    probe = key
    while probe and probe not in lines:
        probe = probe.rpartition(".")[0]
    where = f"{key}: " if key else ""
    return OssaError(f"{name}:{lines.get(probe, 1)}: {where}{problem}")


class _Validator:
    def __init__(self, name: str, loader: Any) -> None:
        self.name = name
        self.loader = loader
        self.lines: dict[str, int] = {}

    def fail(self, node: Any, key: str, problem: str) -> OssaError:
        where = f"{key}: " if key else ""
        return OssaError(f"{self.name}:{node.start_mark.line + 1}: {where}{problem}")

    def value(self, node: Any, spec: Spec, key: str, base: Any = None) -> Any:
        import yaml

        if key not in self.lines:
            self.lines[key] = node.start_mark.line + 1
        if isinstance(spec, Obj) and spec.shorthand and isinstance(node, yaml.ScalarNode):
            result = defaults(spec)
            result[spec.shorthand] = self.value(node, spec.keys[spec.shorthand],
                                                _join(key, spec.shorthand))
            self.required(node, spec, key, result)
            return result
        if isinstance(spec, Scalar):
            return self.scalar(node, spec, key)
        if isinstance(spec, ListOf):
            if not isinstance(node, yaml.SequenceNode):
                raise self.fail(node, key, "expected a list")
            return [self.value(n, spec.item, f"{key}[{i}]") for i, n in enumerate(node.value)]
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping")
        if isinstance(spec, MapOf):
            # Entries named by the user override the default entry of that name field by field;
            # the other default entries stay (a check is switched off with `enabled: false`).
            merged = defaults(spec)
            for k_node, v_node in node.value:
                k = self.key(k_node, key)
                merged[k] = self.value(v_node, spec.value, _join(key, k), merged.get(k))
            return merged
        result = _copy(base) if base is not None else defaults(spec)
        for k_node, v_node in node.value:
            k = self.key(k_node, key)
            sub = _join(key, k)
            if k not in spec.keys:
                hint = _close(k, list(spec.keys), n=1)
                known = ", ".join(spec.keys)
                tip = f" (did you mean '{hint[0]}'?)" if hint else f" (known: {known})"
                raise self.fail(k_node, sub, f"unknown key{tip}")
            self.lines[sub] = k_node.start_mark.line + 1
            result[k] = self.value(v_node, spec.keys[k], sub)
        self.required(node, spec, key, result)
        return result

    def required(self, node: Any, spec: Obj, key: str, result: Mapping[str, Any]) -> None:
        for k, s in spec.keys.items():
            if isinstance(s, Scalar) and not s.nullable and result.get(k) is None:
                raise self.fail(node, key, f"missing required key '{k}'")

    def key(self, node: Any, parent: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, parent, "keys must be strings")
        return str(node.value)

    def scalar(self, node: Any, spec: Scalar, key: str) -> Any:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, f"expected {_EXPECTED[spec.kind]}")
        value = self.loader.construct_object(node, deep=True)
        if value is None and spec.nullable:
            return None
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
        }[spec.kind]
        if not ok:
            raise self.fail(node, key, f"expected {_EXPECTED[spec.kind]}")
        if spec.choices and value not in spec.choices:
            hint = _close(str(value), spec.choices, n=1)
            tip = f" (did you mean '{hint[0]}'?)" if hint else ""
            one_of = ", ".join(spec.choices)
            raise self.fail(node, key, f"unknown value '{value}'{tip}; one of {one_of}")
        if spec.kind == "number":
            value = float(value)
        if spec.rule is not None or spec.minimum is not None or spec.kind == "number":
            from ossa_hooks.config_rules import check

            problem = check(spec.rule, value, spec.minimum, spec.above)
            if problem:
                raise self.fail(node, key, problem)
        return value


def _close(word: str, choices: Any, n: int = 1) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, list(choices), n=n)


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def skipped_ids(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Hook ids named in ``SKIP=id1,id2`` (as the pre-commit framework reads it)."""
    raw = (os.environ if environ is None else environ).get("SKIP", "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())
