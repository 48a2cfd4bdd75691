"""``doctor``: what is installed and what is wrong, for the repository and each linked worktree.

Every concern brings its own checks: a check is a ``module:function`` in :data:`CHECKS`, run
once per repository or once per worktree, that returns :class:`Finding` lines. A check may name
a fixer that ``doctor --fix`` runs when the check found a problem. Adding a check touches the
table and the module that owns the concern, nothing else.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any
from typing import NamedTuple

from ossa_hooks import git
from ossa_hooks.config import HOOK_TYPES
from ossa_hooks.errors import OssaError
from ossa_hooks.install import current_shim_version
from ossa_hooks.install import hooks_dir
from ossa_hooks.install import shim_version
from ossa_hooks.install import state

# Statuses that make ``doctor`` exit 1. "foreign" is another tool's hook; "note" is advice.
PROBLEMS = frozenset({"problem", "missing", "stale"})


class Finding(NamedTuple):
    """One line of the report: ``STATUS  WHERE: TEXT (run `FIX`)``."""

    status: str
    where: str
    text: str
    fix: str | None = None

    @property
    def is_problem(self) -> bool:
        return self.status in PROBLEMS

    def line(self) -> str:
        run = f" (run `{self.fix}`)" if self.fix else ""
        return f"{self.status:<7} {self.where}: {self.text}{run}"

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "where": self.where, "text": self.text, "fix": self.fix,
                "problem": self.is_problem}


class Check(NamedTuple):
    """A check run per ``repository`` (given the RepoPaths) or per ``worktree`` (its top)."""

    name: str
    scope: str
    target: str
    fixer: str | None = None


CHECKS: tuple[Check, ...] = (
    Check("config", "worktree", "ossa_hooks.doctor:check_config"),
    Check("hooks", "worktree", "ossa_hooks.doctor:check_hooks"),
    Check("judge-tools", "worktree", "ossa_hooks.judge.environment:doctor_check"),
)


def worktrees(cwd: str | None) -> list[Path]:
    """Every worktree of the repository (main first), from ``git worktree list --porcelain``."""
    data = git.run(["worktree", "list", "--porcelain", "-z"], cwd).stdout
    found = []
    for field in data.split(b"\0"):
        if field.startswith(b"worktree "):
            found.append(Path(field[len(b"worktree ") :].decode("utf-8", "surrogateescape")))
    return found


@cache
def interpreter_problem(python: str) -> str | None:
    """None when ``python`` runs and imports ossa_hooks; else what is wrong, in a few words."""
    if not Path(python).exists():
        return f"interpreter {python} is gone"
    try:
        proc = subprocess.run(
            [python, "-c", "import ossa_hooks; print(ossa_hooks.__version__)"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"interpreter {python} does not run ({e})"
    if proc.returncode != 0:
        return f"interpreter {python} cannot import ossa_hooks"
    return None


def check_config(top: Path) -> list[Finding]:
    from ossa_hooks import config as config_mod

    try:
        config_mod.load(top)
    except OssaError as e:
        return [Finding("problem", str(top), e.message)]
    return [Finding("ok", str(top), "config valid")]


def check_hooks(top: Path) -> list[Finding]:
    """For each hook type: the shim installed, executable, and its interpreter working."""
    found: list[Finding] = []
    folder = hooks_dir(str(top))
    for hook_type in HOOK_TYPES:
        st = state(folder, hook_type)
        where = f"{top}: {hook_type}"
        if not st.present:
            found.append(Finding("missing", where, "not installed", "ossa-hooks install"))
            continue
        if not st.ours:
            found.append(Finding("foreign", where, f"{st.path} is not an ossa-hooks shim"))
            continue
        if not st.path.stat().st_mode & 0o111:
            found.append(Finding("problem", where, f"{st.path} is not executable",
                                 f"chmod +x {st.path}"))
            continue
        trouble = interpreter_problem(st.python or "")
        if trouble:
            found.append(Finding("problem", where, f"{trouble}", "ossa-hooks install"))
            continue
        chained = f", runs {hook_type}.legacy first" if st.legacy else ""
        older = ""
        if shim_version(st.path.read_text(encoding="utf-8", errors="replace")) != \
                current_shim_version():
            older = " (written by an older ossa-hooks: `ossa-hooks install` again updates it)"
        found.append(Finding("ok", where, f"shim -> {st.python}{chained}{older}"))
    return found


def _load(target: str) -> Callable[..., Any]:
    module_name, _, func_name = target.partition(":")
    func: Callable[..., Any] = getattr(__import__(module_name, fromlist=[func_name]), func_name)
    return func


def run_checks(repo: git.RepoPaths, tops: Sequence[Path],
               checks: Sequence[Check] = CHECKS) -> list[tuple[Check, Finding]]:
    """Every check's findings, repository checks first, then each worktree's in order."""
    results: list[tuple[Check, Finding]] = []
    for check in checks:
        if check.scope == "repository":
            results.extend((check, f) for f in _load(check.target)(repo))
    for top in tops:
        if not top.is_dir():
            results.append((CHECKS[0], Finding("problem", str(top), "worktree folder is missing",
                                               "git worktree prune")))
            continue
        for check in checks:
            if check.scope == "worktree":
                results.extend((check, f) for f in _load(check.target)(top))
    return results


def _fix(repo: git.RepoPaths, results: Sequence[tuple[Check, Finding]]) -> list[str]:
    """Run the fixer of each check that found a problem, once; what each says it did."""
    done: list[str] = []
    seen: set[str] = set()
    for check, finding in results:
        if finding.is_problem and check.fixer and check.fixer not in seen:
            seen.add(check.fixer)
            done.extend(_load(check.fixer)(repo))
    return done


def doctor(repo_arg: str | None, *, fmt: str = "text", fix: bool = False) -> int:
    repo = git.repo_paths(repo_arg)
    tops = worktrees(repo_arg)
    results = run_checks(repo, tops)
    fixed: list[str] = []
    if fix:
        fixed = _fix(repo, results)
        if fixed:
            results = run_checks(repo, tops)
    findings = [f for _, f in results]
    total = sum(f.is_problem for f in findings)
    if fmt == "json":
        print(json.dumps({"problems": total, "fixed": fixed,
                          "findings": [f.as_json() for f in findings]}, indent=2,
                         ensure_ascii=False))
    else:
        for line in fixed:
            print(f"fixed   {line}")
        for f in findings:
            print(f.line())
        print(f"{total} problem(s)" if total else "all good")
    return 1 if total else 0
