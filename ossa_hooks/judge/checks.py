"""The judge's values: a configured check, one check's result, the verdict of a tree; the
statuses; which checks a configuration selects.

Plain slotted classes instead of dataclasses: this module is on the pre-push hook's path.
"""

from __future__ import annotations

from ossa_hooks import git
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from collections.abc import Mapping
    from collections.abc import Sequence
    from typing import Any
    from typing import ClassVar

    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths

PASSED = "passed"
FAILED = "failed"
TIMEOUT = "timeout"
MISSING = "missing"
SKIPPED = "skipped"
CANCELLED = "cancelled"


class _Frozen:
    """An immutable record with value equality: what ``@dataclass(frozen=True, slots=True)``
    gives, without importing ``dataclasses`` (and ``inspect``) on the hook's path."""

    __slots__: tuple[str, ...] = ()
    _fields: ClassVar[tuple[str, ...]] = ()  # in the order of the constructor's arguments

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Frozen) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


class CheckResult(_Frozen):
    """The outcome of one check on one tree. ``status``: passed | failed | timeout | missing |
    skipped | cancelled (another check failed first); ``log``: the file holding its output;
    ``note``: a short explanation."""

    __slots__ = ("log", "name", "note", "seconds", "status")
    _fields = ("name", "status", "seconds", "log", "note")

    name: str
    status: str
    seconds: float
    log: str | None
    note: str

    def __init__(self, name: str, status: str, seconds: float, log: str | None = None,
                 note: str = "") -> None:
        self._set(name=name, status=status, seconds=seconds, log=log, note=note)

    @property
    def ok(self) -> bool:
        return self.status in (PASSED, SKIPPED)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 3),
                "log": self.log, "note": self.note}


class Verdict(_Frozen):
    """The gate's answer for one tree. ``cached``: no check ran, the verdict came from the
    cache. ``commit`` and ``seconds`` (wall time of this judgement) are for reports.
    ``review``: why the commit needs a person's review before it is merged (it changes the
    gate's configuration, deletes or skips tests, silences a finding); empty when it does not."""

    __slots__ = ("cached", "commit", "passed", "results", "review", "seconds", "tree")
    _fields = ("passed", "tree", "cached", "results", "commit", "seconds", "review")

    passed: bool
    tree: str
    cached: bool
    results: tuple[CheckResult, ...]
    commit: str
    seconds: float
    review: tuple[str, ...]

    def __init__(self, passed: bool, tree: str, cached: bool, results: tuple[CheckResult, ...],
                 commit: str = "", seconds: float = 0.0, review: Sequence[str] = ()) -> None:
        self._set(passed=passed, tree=tree, cached=cached, results=tuple(results),
                  commit=commit, seconds=seconds, review=tuple(review))

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The checks that failed (a cancelled check did not fail: it was stopped)."""
        return tuple(r for r in self.results if not r.ok and r.status != CANCELLED)

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "commit": self.commit,
            "tree": self.tree,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
            "checks": [r.as_json() for r in self.results],
            "needs_review": list(self.review),
        }


class Check(_Frozen):
    """One configured check (``judge.checks.NAME``). ``if_configured``: the check runs only
    when the judged tree has one of these (``FILE``, or ``FILE:TEXT``: a file with a line
    starting with TEXT, such as a TOML section), e.g. ``ruff format --check`` only in
    projects that configure ruff's formatter."""

    __slots__ = ("env", "if_configured", "name", "paths", "run", "timeout")
    _fields = ("name", "run", "timeout", "env", "paths", "if_configured")

    name: str
    run: str
    timeout: float | None
    env: Mapping[str, str]
    paths: tuple[str, ...]
    if_configured: tuple[str, ...]

    def __init__(self, name: str, run: str, timeout: float | None,
                 env: Mapping[str, str] | None = None, paths: Sequence[str] = (),
                 if_configured: Sequence[str] = ()) -> None:
        self._set(name=name, run=run, timeout=timeout, env=dict(env or {}), paths=tuple(paths),
                  if_configured=tuple(if_configured))

    def __hash__(self) -> int:
        return hash((self.name, self.run, self.timeout, tuple(sorted(self.env.items())),
                     self.paths, self.if_configured))

    @property
    def key(self) -> str:
        """The cache key part: what can change the outcome on a given tree (not ``paths``,
        which only decides whether the check runs)."""
        return self.key_for(None)

    @property
    def base_aware(self) -> bool:
        """True for checks whose outcome depends on the base (``OSSA_JUDGE_BASE``): ossa-hooks'
        own lint, format and security checks judge what changed since it."""
        words = self.run.split()
        return words[:1] == ["ossa-hooks"] and words[1:2] in (["bandit"], ["ruff"])

    def key_for(self, base: str | None) -> str:
        """``key``, with ``base`` for a base-aware check."""
        import hashlib
        import json

        data: dict[str, Any] = {"name": self.name, "run": self.run, "env": dict(self.env),
                                "timeout": self.timeout}
        if self.base_aware and base:
            data["base"] = base
        blob = json.dumps(data, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def configured_checks(config: Config, names: Sequence[str] | None = None) -> list[Check]:
    """The checks to run: the enabled ones, or exactly ``names`` (even disabled ones)."""
    table: Mapping[str, Mapping[str, Any]] = config.get("judge.checks")
    if names:
        unknown = [n for n in names if n not in table]
        if unknown:
            known = ", ".join(table) or "none"
            raise OssaError(f"unknown check '{unknown[0]}' (configured: {known}; "
                            f"see judge.checks in .ossa-hooks.yaml)")
        chosen = [n for n in table if n in set(names)]
    else:
        chosen = [n for n, spec in table.items() if spec.get("enabled", True)]
    checks = []
    for name in chosen:
        spec = table[name]
        timeout = spec.get("timeout")
        checks.append(Check(
            name=name,
            run=str(spec["run"]),
            timeout=float(timeout) if timeout else None,
            env={str(k): str(v) for k, v in (spec.get("env") or {}).items()},
            paths=tuple(spec.get("paths") or ()),
            if_configured=tuple(spec.get("if_configured") or ()),
        ))
    return checks


def configured_at(repo: RepoPaths, commit: str, check: Check) -> bool:
    """True when ``check`` has no ``if_configured``, or ``commit`` has one of them (read from
    git's objects in one call: no worktree needed to decide)."""
    if not check.if_configured:
        return True
    items = [item.partition(":") for item in check.if_configured]
    query = "".join(f"{commit}:{name}\n" for name, _, _ in items)
    data = git.run(["cat-file", "--batch"], git_cwd(repo), input=query.encode()).stdout
    pos = 0
    for _, _, prefix in items:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue  # missing
        size = int(header[2])
        text = data[pos:pos + size].decode("utf-8", "replace")
        pos += size + 1
        if not prefix or any(line.strip().startswith(prefix) for line in text.splitlines()):
            return True
    return False


def touches(changed: Collection[str], patterns: Sequence[str]) -> bool:
    """True when a changed path falls under a pattern (a folder prefix, a path, or a glob)."""
    from fnmatch import fnmatchcase

    for pattern in patterns:
        stem = pattern.rstrip("/")
        for path in changed:
            if path == stem or path.startswith(stem + "/") or fnmatchcase(path, pattern):
                return True
    return False


def resolve(repo: RepoPaths, rev: str) -> tuple[str, str]:
    """``rev``'s commit and tree ids (one git call)."""
    proc = git.run(["cat-file", "--batch-check"], git_cwd(repo),
                   input=f"{rev}^{{commit}}\n{rev}^{{tree}}\n".encode())
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    ids = [ln.split()[0] for ln in lines if len(ln.split()) == 3]
    if len(ids) != 2:
        raise OssaError(f"'{rev}' is not a commit in this repository (try --rev HEAD)")
    return ids[0], ids[1]


def git_cwd(repo: RepoPaths) -> str:
    """Where to run git for this repository (its worktree, or the git dir when bare)."""
    return repo.toplevel_str if repo.toplevel_str is not None else repo.git_dir_str
