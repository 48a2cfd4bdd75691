"""Rules an agent cannot rewrite: what judges a commit of an agent branch comes from the
trusted side, the configuration at its base (the integration branch's tip, else the base
branch's), never from the commit under judgement; what in such a commit needs a person's
review; and the gate ``worktree cleanup`` passes before it merges a branch.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks import git
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.judge.checks import git_cwd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence

    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.judge.checks import Verdict

AGENT_PREFIX = "agents/"
CONFIG_NAME = ".ossa-hooks.yaml"
# Files whose change alters what the checks look at (besides .ossa-hooks.yaml).
TOOL_CONFIGS = ("ruff.toml", ".ruff.toml", ".bandit", "pytest.ini", "tox.ini", "setup.cfg",
                ".flake8", "mypy.ini", ".coveragerc")
PYPROJECT_SECTIONS = ("[tool.ruff", "[tool.bandit", "[tool.pytest", "[tool.mypy",
                      "[tool.coverage")
SILENCERS = (("# noqa", "adds # noqa"), ("# nosec", "adds # nosec"))
SKIPS = ("pytest.mark.skip", "pytest.skip(", "unittest.skip", "pytest.mark.xfail",
         "pytest.importorskip(", "@skip(", "raise SkipTest", "unittest.SkipTest")
SHOWN = 3  # locations named per reason


class Trusted:
    """The configuration that judges a commit and where it came from (``source``: empty for
    the configuration of the worktree itself); ``review``: why a person must look at the
    commit before it is merged; ``base``: the commit the review compared with."""

    __slots__ = ("base", "config", "review", "source")

    def __init__(self, config: Config, source: str, review: Sequence[str] = (),
                 base: str | None = None) -> None:
        self.config = config
        self.source = source
        self.review = tuple(review)
        self.base = base


def trusted_for(repo: RepoPaths, config: Config, ref: str, commit: str) -> Trusted | None:
    """For a commit of an agent branch (``refs/heads/agents/...``): the configuration at its
    base, and the review marks against that base. None for any other branch: its own
    worktree's configuration judges it."""
    branch = ref.removeprefix("refs/heads/")
    if not branch.startswith(AGENT_PREFIX):
        return None
    base_ref = base_of(repo, config, branch)
    if base_ref is None:
        return Trusted(config, f"this worktree's {CONFIG_NAME} (no base branch found for "
                               f"{branch})")
    cwd = git_cwd(repo)
    base_commit = git.out(["rev-parse", "--verify", f"{base_ref}^{{commit}}"], cwd)
    return Trusted(config_at(repo, base_ref), f"{base_ref}:{CONFIG_NAME} (the base of {branch})",
                   review_reasons(repo, base_commit, commit), base_commit)


def base_of(repo: RepoPaths, config: Config, branch: str) -> str | None:
    """The ref whose configuration is trusted for ``branch``: the integration branch of its
    base when it exists, else the base branch. The base is what the agent's worktree was
    created from (``OSSA_BASE_BRANCH`` in its ``.env``), else ``base_branch``, else the main
    worktree's branch; an agent branch is never a base."""
    cwd = git_cwd(repo)
    candidates = [_env_base(repo, branch), config.get("base_branch"), _main_branch(repo)]
    for base in candidates:
        if not base or base.startswith(AGENT_PREFIX):
            continue
        pattern = str(config.get("integration_branch"))
        try:
            integration = pattern.format_map({"base": base, "date": time.strftime("%Y%m%d")})
        except (KeyError, ValueError, IndexError):
            integration = ""
        for ref in (integration, base):
            if ref and not ref.startswith(AGENT_PREFIX) and git.ok(
                    ["rev-parse", "-q", "--verify", f"refs/heads/{ref}^{{commit}}"], cwd):
                return ref
    return None


def _env_base(repo: RepoPaths, branch: str) -> str | None:
    data = git.run(["worktree", "list", "--porcelain", "-z"], git_cwd(repo)).stdout
    path = None
    for field in data.split(b"\0"):
        if field.startswith(b"worktree "):
            path = os.fsdecode(field[len(b"worktree "):])
        elif field == f"branch refs/heads/{branch}".encode() and path:
            try:
                with open(os.path.join(path, ".env"), encoding="utf-8") as f:
                    for line in f:
                        key, _, value = line.strip().partition("=")
                        if key == "OSSA_BASE_BRANCH":
                            return value.strip().strip("'\"") or None
            except OSError:
                return None
    return None


def _main_branch(repo: RepoPaths) -> str | None:
    proc = git.run(["symbolic-ref", "-q", "--short", "HEAD"], repo.common_dir_str, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def config_at(repo: RepoPaths, ref: str) -> Config:
    """The configuration committed at ``ref`` (the defaults when it has none)."""
    from ossa_hooks import config as config_mod

    proc = git.run(["cat-file", "blob", f"{ref}:{CONFIG_NAME}"], git_cwd(repo), check=False)
    if proc.returncode != 0:
        return config_mod.Config(config_mod.defaults())
    return config_mod.Config(config_mod.parse(proc.stdout, f"{ref}:{CONFIG_NAME}"))


# --- what needs a person's review ----------------------------------------------------------------


def review_reasons(repo: RepoPaths, base: str, commit: str) -> list[str]:
    """Why the changes from ``base`` (their merge-base) to ``commit`` need a person's review:
    they change the gate's or a tool's configuration, delete or skip tests, or silence
    findings (``# noqa``, ``# nosec``)."""
    cwd = git_cwd(repo)
    mb = git.run(["merge-base", base, commit], cwd, check=False).stdout.decode().strip()
    if not mb or mb == commit:
        return []
    status = git.split_z(git.run(["diff", "--name-status", "-z", "--no-renames", mb, commit],
                                 cwd).stdout)
    changes = list(zip(status[::2], status[1::2], strict=False))
    reasons = []
    paths = [p for _, p in changes]
    if CONFIG_NAME in paths:
        reasons.append(f"changes {CONFIG_NAME} (judged with the base's configuration)")
    tools = [p for p in paths if os.path.basename(p) in TOOL_CONFIGS]
    if "pyproject.toml" in paths and _sections(repo, mb) != _sections(repo, commit):
        tools.append("pyproject.toml [tool.*] settings of ruff/bandit/pytest/mypy/coverage")
    if tools:
        reasons.append(f"changes tool configuration: {_some(tools)}")
    deleted = [p for s, p in changes if s == "D" and is_test_file(p)]
    if deleted:
        reasons.append(f"deletes tests: {_some(deleted)}")
    added = _added_lines(repo, mb, commit)
    for marker, reason in SILENCERS:
        where = [loc for loc, line in added if marker in line.lower()]
        if where:
            reasons.append(f"{reason}: {_some(where)}")
    skipped = [loc for loc, line in added if any(s in line for s in SKIPS)]
    if skipped:
        reasons.append(f"skips tests: {_some(skipped)}")
    return reasons


def is_test_file(path: str) -> bool:
    """pytest's default naming: ``test_*.py``, ``*_test.py``, and ``conftest.py``."""
    name = os.path.basename(path)
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")
                                     or name == "conftest.py")


def _some(items: Sequence[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _added_lines(repo: RepoPaths, old: str, new: str) -> list[tuple[str, str]]:
    """(``path:line``, text) of every line the diff adds."""
    out = git.run(["diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", old, new],
                  git_cwd(repo)).stdout.decode("utf-8", "replace")
    found = []
    path = ""
    line_no = 0
    for line in out.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else ""
        elif line.startswith("@@"):
            try:
                line_no = int(line.split("+")[1].split(",")[0].split()[0])
            except (IndexError, ValueError):
                line_no = 0
        elif line.startswith("+") and path:
            found.append((f"{path}:{line_no}", line[1:]))
            line_no += 1
    return found


def _sections(repo: RepoPaths, rev: str) -> list[str]:
    """The lines of ``pyproject.toml``'s tool sections that steer the checks, at ``rev``."""
    proc = git.run(["cat-file", "blob", f"{rev}:pyproject.toml"], git_cwd(repo), check=False)
    keep, inside = [], False
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.startswith(PYPROJECT_SECTIONS)
        if inside and stripped and not stripped.startswith("#"):
            keep.append(stripped)
    return keep


# --- the merge gate ------------------------------------------------------------------------------


class GateDecision:
    """Whether ``worktree cleanup`` may merge a branch; ``reasons`` when not; ``review``: what
    needs a person's review (also when accepted)."""

    __slots__ = ("allowed", "reasons", "review", "verdict")

    def __init__(self, allowed: bool, reasons: Sequence[str], review: Sequence[str],
                 verdict: Verdict | None) -> None:
        self.allowed = allowed
        self.reasons = tuple(reasons)
        self.review = tuple(review)
        self.verdict = verdict


def merge_gate(repo: RepoPaths, config: Config, branch: str, *,
               accept_config_change: bool = False, quiet: bool = False) -> GateDecision:
    """Decide whether ``branch`` may be merged: its head passes the judge under the trusted
    configuration (a cached passing verdict counts; else the checks run now), nothing in it
    needs review (unless ``accept_config_change``), and, when the task ran a workflow, the
    workflow's reviewer approved it."""
    from ossa_hooks.judge.gate import judge

    cwd = git_cwd(repo)
    ref = f"refs/heads/{branch}"
    head = git.out(["rev-parse", "--verify", f"{ref}^{{commit}}"], cwd)
    trusted = trusted_for(repo, config, ref, head) or Trusted(config, "")
    verdict = judge(repo, config, ref, label=branch, trusted=trusted, quiet=quiet,
                    stream=sys.stdout, base=trusted.base)
    reasons = []
    if not verdict.passed:
        failed = ", ".join(r.name for r in verdict.failed) or "checks"
        source = f" from {trusted.source}" if trusted.source else ""
        reasons.append(f"the judge failed on {head[:10]} with the trusted configuration"
                       f"{source}: {failed}")
    if verdict.review and not accept_config_change:
        reasons.append("needs human review: " + "; ".join(verdict.review)
                       + " (merge anyway: --accept-config-change)")
    review = workflow_review(repo, branch)
    if review is not None and review != "approve":
        reasons.append(f"the task's workflow has no approving review (last verdict: {review})")
    return GateDecision(not reasons, reasons, verdict.review, verdict)


def enforce_merge_gate(repo: RepoPaths, config: Config, branch: str, *, gate: bool = True,
                       accept_config_change: bool = False,
                       echo: Callable[[str], None] = print) -> None:
    """What ``worktree cleanup`` calls before merging: raise (exit 1) when the gate refuses;
    with ``gate`` False, say what was skipped."""
    if not gate:
        echo(f"--no-gate: merging {branch} without the judge under the trusted configuration, "
             "the review marks or the workflow's review")
        return
    decision = merge_gate(repo, config, branch, accept_config_change=accept_config_change)
    if decision.review and accept_config_change:
        echo("accepted for review: " + "; ".join(decision.review))
    if not decision.allowed:
        raise OssaError(f"not merging {branch}: " + "; ".join(decision.reasons)
                        + " (skip every check: --no-gate)", code=EXIT_FAILED)


def merge_gate_for(repo: RepoPaths, config: Config, *, gate: bool = True,
                   accept_config_change: bool = False) -> Callable[[str, Callable[[str], None]],
                                                           None]:
    """The gate ``worktree cleanup`` calls with a branch before merging it
    (:func:`enforce_merge_gate` with these settings)."""

    def check(branch: str, echo: Callable[[str], None]) -> None:
        enforce_merge_gate(repo, config, branch, gate=gate,
                           accept_config_change=accept_config_change, echo=echo)

    return check


def workflow_review(repo: RepoPaths, branch: str) -> str | None:
    """The last review verdict of the newest workflow run on ``branch`` ("none" when its review
    never ran, e.g. an escalated run); None when no workflow ran on it. Reads the workflow
    state (agents/workflow.py's tables) without importing the agents feature."""
    import json
    import sqlite3

    path = os.path.join(repo.state_dir_str, "workflow.db")
    if not os.path.exists(path):
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        try:
            row = con.execute("SELECT id FROM workflows WHERE branch = ? ORDER BY id DESC "
                              "LIMIT 1", (branch,)).fetchone()
            if row is None:
                return None
            review = con.execute("SELECT result FROM phases WHERE workflow = ? AND name = "
                                 "'3_review' ORDER BY round DESC LIMIT 1", (row[0],)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if review is None:
        return "none"
    try:
        return str(json.loads(review[0]).get("verdict") or "none")
    except (ValueError, AttributeError):
        return "none"
