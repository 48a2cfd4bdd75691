"""``doctor``: what is installed and what is wrong, for the repository and each linked worktree.

Every concern brings its own checks: a check is a ``module:function`` in :data:`CHECKS`, run
once per repository or once per worktree, that returns :class:`Finding` lines. A check may name
a fixer that ``doctor --fix`` runs when the check found a problem. Adding a check touches the
table and the module that owns the concern, nothing else.
"""

from __future__ import annotations

import json
import os
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
from ossa_hooks.install import shim_python
from ossa_hooks.managers import CHAINED
from ossa_hooks.managers import Layout
from ossa_hooks.managers import layout
from ossa_hooks.managers import shim_version

# Statuses that make ``doctor`` exit 1 ("foreign": another tool's hook where ossa's should run);
# "note" is advice.
PROBLEMS = frozenset({"problem", "missing", "stale", "foreign"})


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
    Check("hooks", "worktree", "ossa_hooks.doctor:check_hooks", "ossa_hooks.install:fix_hooks"),
    Check("leases", "repository", "ossa_hooks.worktree.lease:doctor_check",
          "ossa_hooks.worktree.lease:doctor_fix"),
    Check("databases", "repository", "ossa_hooks.store:check_databases",
          "ossa_hooks.store:fix_databases"),
    Check("agent-worktrees", "repository", "ossa_hooks.worktree.adopt:doctor_check"),
    Check("guard", "repository", "ossa_hooks.worktree.guard_hook:doctor_check"),
    Check("agents-git", "repository", "ossa_hooks.worktree.guard_git:doctor_check",
          "ossa_hooks.worktree.guard_git:doctor_fix"),
    Check("sandbox", "repository", "ossa_hooks.agents.sandbox:doctor_check"),
    Check("trash", "repository", "ossa_hooks.backup.trash:doctor_check",
          "ossa_hooks.backup.trash:doctor_fix"),
    Check("lifecycle", "repository", "ossa_hooks.worktree.safety:doctor_check",
          "ossa_hooks.worktree.safety:doctor_fix"),
    Check("watch", "repository", "ossa_hooks.backup.watch:doctor_check"),
    Check("judge-tools", "worktree", "ossa_hooks.judge.environment:doctor_check"),
)


def worktrees(cwd: str | None) -> list[Path]:
    """Every worktree of the repository (main first), from ``git worktree list --porcelain``."""
    data = git.run(["worktree", "list", "--porcelain", "-z"], cwd).stdout
    found = []
    for field in data.split(b"\0"):
        if field.startswith(b"worktree "):
            found.append(Path(os.fsdecode(field[len(b"worktree ") :])))
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


def _configured_types(top: Path) -> list[str]:
    """Hook types the config gives actions (all of them when the config cannot be read)."""
    from ossa_hooks import config as config_mod

    try:
        hooks = config_mod.load(top).get("hooks")
    except OssaError:
        return list(HOOK_TYPES)
    return [t for t in HOOK_TYPES if hooks.get(t)]


def check_hooks(top: Path) -> list[Finding]:
    """For each configured hook type: ossa's actions run exactly once, through whichever
    manager runs the hook, and no other manager's hooks were disabled on the way."""
    from ossa_hooks.managers import lefthook_entries
    from ossa_hooks.managers import pre_commit_ids

    found: list[Finding] = []
    folder = hooks_dir(str(top))
    listed = pre_commit_ids(top)
    entries = lefthook_entries(top)
    for hook_type in _configured_types(top):
        where = f"{top}: {hook_type}"
        found.extend(Finding(s, where, text, fix) for s, text, fix in
                     hook_findings(layout(folder, hook_type), listed.get(hook_type, []),
                                   hook_type in entries))
    return found


def hook_findings(lay: Layout, listed: Sequence[str],
                  in_lefthook: bool) -> list[tuple[str, str, str | None]]:
    """(status, text, fix) lines for one hook type; see :func:`check_hooks`."""
    install = "ossa-hooks install"
    runs: list[str] = []
    shim = lay.shim
    if shim is not None and lay.main == "lefthook" and not in_lefthook:
        shim = None
    if shim is not None:
        runs.append(f"shim {shim.name}")
        if lay.chained == "ossa":
            runs.append(f"{lay.path(CHAINED).name} (an ossa-hooks shim it runs first)")
    if lay.main == "pre-commit" and listed:
        runs.append(f"pre-commit ({', '.join(listed)})")
    if not runs:
        return [_why_not_run(lay, listed)]
    if len(runs) > 1:
        return [("problem", f"ossa's actions run twice: {' and '.join(runs)}", install)]
    if shim is None:
        return [("ok", f"run by pre-commit's config: {', '.join(listed)}", None)]
    if not shim.stat().st_mode & 0o111:
        return [("problem", f"{shim} is not executable", f"chmod +x {shim}")]
    python = shim_python(shim)
    trouble = interpreter_problem(python or "")
    if trouble:
        return [("problem", trouble, install)]
    text = shim.read_text(encoding="utf-8", errors="replace")
    version = shim_version(text)
    chained = lay.path(CHAINED)
    if lay.chained == "husky" and "OSSA_CHAIN=source" not in text:
        return [("problem", f"husky's scripts do not run: the shim runs {chained.name} without"
                 " the name husky's wrapper dispatches on", install)]
    if version is not None and version < 3 and lay.main == "ossa" and lay.legacy is not None:
        what = {"husky": "husky's scripts do not run (its wrapper was renamed)",
                "pre-commit": "every commit fails: pre-commit's script runs in migration mode"
                              " from the wrong name"}.get(lay.legacy or "")
        if what:
            return [("problem", what, install)]
    how = {"ossa": "shim", "pre-commit": f"shim {shim.name} (run by pre-commit's migration mode)",
           "lefthook": f"shim {shim.name} (run by lefthook-local.yml)"}[lay.main or "ossa"]
    chain = f", runs {chained.name} first" if lay.chained else ""
    older = ""
    if version != current_shim_version():
        older = " (written by an older ossa-hooks: `ossa-hooks install` again updates it)"
    return [("ok", f"{how} -> {python}{chain}{older}", None)]


def _why_not_run(lay: Layout, listed: Sequence[str]) -> tuple[str, str, str | None]:
    t = lay.hook_type
    install = "ossa-hooks install"
    if lay.main is None:
        if lay.chained or lay.legacy:
            return ("missing", f"not installed, and {t}{CHAINED if lay.chained else '.legacy'}"
                    " is not run by anything", install)
        return ("missing", "not installed", install)
    if lay.main == "lefthook":
        if lay.old == "ossa":
            return ("missing", f"lefthook moved the shim to {t}.old and never runs it", install)
        return ("missing", "lefthook runs this hook and its configuration does not run"
                " ossa-hooks", install)
    if lay.main == "pre-commit":
        return ("missing", "pre-commit runs this hook, and neither .pre-commit-config.yaml nor"
                " a shim in its migration mode runs ossa-hooks", install)
    if lay.chained is not None and lay.main == lay.chained:
        return ("missing", f"{lay.main} wrote its hook over the shim; ossa's actions do not run",
                install)
    if lay.chained is not None:
        return ("foreign", f"{lay.path()} is another tool's hook and {t}{CHAINED} exists",
                f"{install} --force")
    name = {"husky": "husky's wrapper"}.get(lay.main, "another tool's hook")
    return ("foreign", f"{lay.path()} is {name}; ossa's actions do not run", install)


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
    repo = git.repo_paths(repo_arg, option="--repo")
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
