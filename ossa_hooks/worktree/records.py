"""Agent worktrees as git and the files record them: names, the worktrees git knows, refs,
the ``.env`` file, and small path helpers shared by create, list, merge-back and cleanup.

An agent worktree is a linked worktree whose branch is ``agents/AGENT/TASK``; its folder is
``<worktree_root>/REPO__AGENT__TASK`` and it carries a ``.env`` (mode 0600) and an
``.agents-workspace/`` scaffold. Everything here runs git through ``ossa_hooks.git`` with
the hook variables cleared, so it works from any worktree of the repository and from hooks.
"""

from __future__ import annotations

import os
import re
import shlex
import string
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

BRANCH_PREFIX = "agents/"
WORKSPACE = ".agents-workspace"
WORKSPACE_DIRS = ("config", "agents", "workflows", "data", "logs", "metrics")
ENV_FILE = ".env"
ENV_TEMPLATE = "worktree.env"
SCAFFOLD_TEMPLATE = "agents-workspace"
SEPARATOR = "__"

# Git must not run hooks for the merges this module makes on the user's behalf: the
# post-merge hook would try to clean up the very worktree being cleaned up.
NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")

_NAME_OK = re.compile(r"[A-Za-z0-9._-]+")
_NAME_BAD_RUN = re.compile(r"[^A-Za-z0-9._-]+")
# Per-worktree files that the tool writes and that must never be committed or make a worktree
# look dirty. They go to the common `info/exclude`, which every worktree reads and nobody
# commits (patterns are anchored at each worktree's top).
_EXCLUDED = (
    f"/{ENV_FILE}",
    f"/{WORKSPACE}/data/",
    f"/{WORKSPACE}/logs/",
    f"/{WORKSPACE}/metrics/",
)

Echo = Callable[[str], None]


# --- names -----------------------------------------------------------------------------------


MAX_NAME = 64


def validate_name(kind: str, value: str) -> str:
    """``value`` when it is a safe AGENT / TASK / REPO name; else a one-line error with the rule."""
    problem = None
    if not value:
        problem = "is empty"
    elif not _NAME_OK.fullmatch(value):
        problem = "has characters other than letters, digits, '.', '_' and '-'"
    elif ".." in value:
        problem = "contains '..'"
    elif value.startswith(("-", ".")):
        problem = "starts with '-' or '.'"
    elif value.endswith((".lock", ".")):
        problem = "ends with '.lock' or '.'"
    elif len(value) > MAX_NAME:
        # REPO__AGENT__TASK must fit in one file name (255 bytes on most file systems).
        problem = f"is {len(value)} characters long (at most {MAX_NAME})"
    if problem:
        shown = value if len(value) <= MAX_NAME else value[:32] + "…"
        raise OssaError(
            f"invalid {kind} {shown!r}: it {problem}; use letters, digits, '.', '_' and '-'"
            f" (for example: coder, fix-login_2)"
        )
    return value


def default_repo_name(folder: Path) -> str:
    """The repository's folder name, made safe for a folder and branch name."""
    name = _NAME_BAD_RUN.sub("-", folder.name.removesuffix(".git")).strip("-.")
    name = re.sub(r"\.{2,}", ".", name)[:MAX_NAME].rstrip("-.")
    return name or "repo"


def agent_branch(agent: str, task: str) -> str:
    return f"{BRANCH_PREFIX}{agent}/{task}"


def folder_name(repo_name: str, agent: str, task: str) -> str:
    return SEPARATOR.join((repo_name, agent, task))


# --- the worktrees git knows -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorktreeEntry:
    """One record of ``git worktree list --porcelain -z``."""

    path: Path
    head: str | None
    branch: str | None  # short name, None when detached or bare
    bare: bool = False
    locked: bool = False
    prunable: bool = False


def worktree_entries(cwd: str | os.PathLike[str] | None) -> list[WorktreeEntry]:
    """Every worktree of the repository, the main one first."""
    data = git.run(["worktree", "list", "--porcelain", "-z"], cwd).stdout
    entries: list[WorktreeEntry] = []
    for record in data.split(b"\0\0"):
        fields = git.split_z(record)
        if not fields or not fields[0].startswith("worktree "):
            continue
        values: dict[str, str] = {}
        for f in fields:
            key, _, value = f.partition(" ")
            values[key] = value
        branch = values.get("branch")
        entries.append(
            WorktreeEntry(
                path=Path(values["worktree"]),
                head=values.get("HEAD"),
                branch=branch.removeprefix("refs/heads/") if branch else None,
                bare="bare" in values,
                locked="locked" in values,
                prunable="prunable" in values,
            )
        )
    return entries


def _cwd(repo: RepoPaths) -> Path:
    """Where to run git for repository-wide work (any worktree will do; bare: the git dir)."""
    if repo.toplevel is not None and repo.toplevel.is_dir():
        return repo.toplevel
    return repo.common_dir


_MAIN: dict[str, Path | None] = {}


def main_worktree(repo: RepoPaths) -> Path | None:
    """The main worktree's folder (None for a bare repository); it cannot move while a command
    runs, so it is asked of git once per repository and process."""
    key = repo.common_dir_str
    if key not in _MAIN:
        entries = worktree_entries(_cwd(repo))
        _MAIN[key] = entries[0].path if entries and not entries[0].bare else None
    return _MAIN[key]


def worktree_root(repo: RepoPaths, config: Config) -> Path:
    """``worktree_root`` from the config; relative to the main worktree (or the git dir)."""
    root = Path(os.path.expanduser(str(config.get("worktree_root"))))
    if root.is_absolute():
        return root
    anchor = main_worktree(repo) or repo.common_dir
    return anchor / root


# --- refs ------------------------------------------------------------------------------------


def _rev(cwd: Path, rev: str) -> str | None:
    proc = git.run(["rev-parse", "-q", "--verify", f"{rev}^{{commit}}"], cwd, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def branch_exists(cwd: Path, name: str) -> bool:
    return git.ok(["show-ref", "--verify", "-q", f"refs/heads/{name}"], cwd)


def is_ancestor(cwd: Path, older: str, newer: str) -> bool:
    proc = git.run(["merge-base", "--is-ancestor", older, newer], cwd, check=False)
    if proc.returncode > 1:
        raise git.GitError(["merge-base", "--is-ancestor", older, newer], proc.returncode,
                           proc.stderr.decode("utf-8", "replace"))
    return proc.returncode == 0


def _check_branch_name(cwd: Path, name: str, what: str) -> str:
    proc = git.run(["check-ref-format", "--branch", name], cwd, check=False)
    if proc.returncode != 0:
        raise OssaError(f"{what} {name!r} is not a valid branch name")
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def current_branch(cwd: Path) -> str | None:
    proc = git.run(["symbolic-ref", "-q", "--short", "HEAD"], cwd, check=False)
    return proc.stdout.decode("utf-8", "surrogateescape").strip() or None


def resolve_base(repo: RepoPaths, config: Config, base: str | None, *, echo: Echo) -> str:
    """The base branch: ``base``, else config ``base_branch``, else the main worktree's branch.

    A named base that does not exist yet is created from HEAD.
    """
    cwd = _cwd(repo)
    name = base or config.get("base_branch")
    if not name:
        main = main_worktree(repo)
        name = current_branch(main if main is not None else cwd)
        if not name:
            raise OssaError(
                "no base branch: the main worktree is on a detached HEAD; pass --base BRANCH"
                " or set base_branch in .ossa-hooks.yaml"
            )
    name = _check_branch_name(cwd, str(name).removeprefix("refs/heads/"), "base branch")
    if branch_exists(cwd, name):
        return name
    head = _rev(cwd, "HEAD")
    if head is None:
        raise OssaError("the repository has no commits yet: make a first commit, then run this")
    if _rev(cwd, name) is not None:
        raise OssaError(f"base {name!r} is not a local branch: pass a local branch with --base")
    git.run(["branch", "--no-track", name, head], cwd)
    echo(f"created base branch {name} from HEAD ({head[:10]})")
    return name


def integration_branch(config: Config, base: str, today: str | None = None) -> str:
    """The integration branch of ``base``: config ``integration_branch`` with ``{base}`` and
    ``{date}`` (YYYYMMDD) filled in."""
    pattern = str(config.get("integration_branch"))
    date = today or time.strftime("%Y%m%d")
    try:
        return pattern.format_map({"base": base, "date": date})
    except (KeyError, ValueError, IndexError) as e:
        raise OssaError(
            f"integration_branch {pattern!r}: bad placeholder ({e}); use {{base}} and {{date}}"
        ) from None


# --- .env and the scaffold -------------------------------------------------------------------


def read_env(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (an ``export`` prefix allowed, shell quoting
    undone, words of an unquoted value joined by one space); {} when absent."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.removeprefix("export ").partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw]
        values[key.strip()] = " ".join(parts)
    return values


def write_env(path: Path, values: Mapping[str, object]) -> None:
    """Render the ``.env`` template with shell-quoted values; mode 0600 whatever the umask."""
    from ossa_hooks.resources import template

    text = string.Template(template(ENV_TEMPLATE).read_text(encoding="utf-8")).substitute(
        {k: shlex.quote("" if v is None else str(v)) for k, v in values.items()}
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


# --- helpers ---------------------------------------------------------------------------------


def _silent(_: str) -> None:
    return None


def _outside(repo: RepoPaths, path: Path) -> RepoPaths:
    """``repo`` as seen from a worktree other than ``path`` (which is about to be removed)."""
    if repo.toplevel is None or not _within(repo.toplevel, path):
        return repo
    main = main_worktree(repo)
    return git.repo_paths(main if main is not None else repo.common_dir)


def _within(child: Path, parent: Path) -> bool:
    c, p = child.resolve(), parent.resolve()
    return c == p or p in c.parents


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def _short(cwd: Path, rev: str) -> str:
    return git.out(["rev-parse", "--short=10", rev], cwd)


def _same_commit(cwd: Path, a: str, b: str) -> bool:
    return _rev(cwd, a) == _rev(cwd, b)


def _creation_commit(cwd: Path, branch: str) -> str | None:
    """The commit a branch was created at, from its oldest reflog entry (None without reflog)."""
    proc = git.run(["reflog", "show", "--format=%H", f"refs/heads/{branch}", "--"], cwd,
                   check=False)
    lines = proc.stdout.decode().split()
    return lines[-1] if proc.returncode == 0 and lines else None


def _default_base(repo: RepoPaths, config: Config) -> str:
    name = config.get("base_branch")
    if name:
        return str(name)
    main = main_worktree(repo)
    branch = current_branch(main if main is not None else _cwd(repo))
    if not branch:
        raise OssaError("no base branch: set base_branch in .ossa-hooks.yaml")
    return branch


def _audit(repo: RepoPaths, name: str, code: int, start: float, detail: Mapping[str, Any]) -> None:
    from ossa_hooks import audit

    audit.record(repo, "worktree", name, code, time.perf_counter() - start, detail)


def recorded_base(worktree: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The commit an agent worktree was created from (``OSSA_BASE_COMMIT`` of its ``.env``);
    the one place that knows where it is recorded. ``env``: the ``.env`` already read."""
    values = read_env(worktree / ENV_FILE) if env is None else env
    return values.get("OSSA_BASE_COMMIT") or None
