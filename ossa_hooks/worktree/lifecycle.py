"""Agent worktrees: create one per agent task, list them, merge each back into the integration
branch and remove it; and the post-merge hook that removes the ones a merge has finished.

An agent worktree is a linked worktree whose branch is ``agents/AGENT/TASK``; its folder is
``<worktree_root>/REPO__AGENT__TASK`` and it carries a ``.env`` (mode 0600) and an
``.agents-workspace/`` scaffold. Everything here runs git through ``ossa_hooks.git`` with
the hook variables cleared, so it works from any worktree of the repository and from hooks.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import string
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.hook_context import HookContext

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
    if problem:
        raise OssaError(
            f"invalid {kind} {value!r}: it {problem}; use letters, digits, '.', '_' and '-'"
            f" (for example: coder, fix-login_2)"
        )
    return value


def default_repo_name(folder: Path) -> str:
    """The repository's folder name, made safe for a folder and branch name."""
    name = _NAME_BAD_RUN.sub("-", folder.name.removesuffix(".git")).strip("-.")
    name = re.sub(r"\.{2,}", ".", name)
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
    """``KEY=VALUE`` lines of a ``.env`` file (shell quoting undone); {} when absent."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw]
        values[key.strip()] = parts[0] if parts else ""
    return values


def write_env(path: Path, values: Mapping[str, object]) -> None:
    """Render the ``.env`` template with shell-quoted values; mode 0600 whatever the umask."""
    from ossa_hooks.resources import template

    text = string.Template(template(ENV_TEMPLATE).read_text(encoding="utf-8")).substitute(
        {k: shlex.quote("" if v is None else str(v)) for k, v in values.items()}
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def scaffold_files() -> list[tuple[Path, str]]:
    """(template file, path relative to the worktree) for each file of the scaffold."""
    from ossa_hooks.resources import template

    src = template(SCAFFOLD_TEMPLATE)
    found = []
    for path in sorted(src.rglob("*")):
        if path.is_file():
            rel = path.relative_to(src).as_posix().removesuffix(".tmpl")
            found.append((path, f"{WORKSPACE}/{rel}"))
    return found


def write_scaffold(worktree: Path, values: Mapping[str, object]) -> list[str]:
    """``.agents-workspace/`` from the templates; files already there (committed) are kept.

    ``*.tmpl`` files are rendered with ``values`` (JSON-quoted, which YAML reads too).
    """
    base = worktree / WORKSPACE
    for name in WORKSPACE_DIRS:
        (base / name).mkdir(parents=True, exist_ok=True)
    written = []
    for src, rel in scaffold_files():
        target = worktree / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.name.endswith(".tmpl"):
            text = string.Template(src.read_text(encoding="utf-8")).safe_substitute(
                {k: json.dumps(v, ensure_ascii=False) for k, v in values.items()}
            )
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(src, target)
        written.append(rel)
    return written


def ensure_excluded(repo: RepoPaths, config: Config) -> list[str]:
    """Put the per-worktree files (and ``worktree_root``) in the common ``info/exclude``."""
    from ossa_hooks.gitignore import add_gitignore_entries

    entries = list(_EXCLUDED) + [f"/{rel}" for _, rel in scaffold_files()]
    main = main_worktree(repo)
    root = worktree_root(repo, config)
    if main is not None:
        try:
            rel_root = root.resolve().relative_to(main.resolve()).as_posix()
        except ValueError:
            rel_root = ""
        if rel_root and rel_root != ".":
            entries.insert(0, f"/{rel_root}/")
    path = repo.common_dir / "info" / "exclude"
    path.parent.mkdir(parents=True, exist_ok=True)
    return add_gitignore_entries(path, entries)


def ensure_hooks(worktree: Path) -> str:
    """Install the hook shims the worktree's hooks folder lacks; foreign hooks are left alone."""
    from ossa_hooks import install
    from ossa_hooks.config import HOOK_TYPES

    folder = install.hooks_dir(worktree)
    folder.mkdir(parents=True, exist_ok=True)
    added, foreign = [], []
    for hook_type in HOOK_TYPES:
        st = install.state(folder, hook_type)
        if st.ours:
            continue
        if st.present:
            foreign.append(hook_type)
            continue
        tmp = st.path.with_name(f".{hook_type}.ossa-tmp-{os.getpid()}")
        tmp.write_text(install.render_shim(hook_type, sys.executable), encoding="utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, st.path)
        added.append(hook_type)
    parts = []
    if added:
        parts.append(f"installed {', '.join(added)} in {folder}")
    if foreign:
        parts.append(f"{', '.join(foreign)} not ours (run `ossa-hooks install` there to chain)")
    return "; ".join(parts) if parts else "active (shared with the repository)"


# --- create ----------------------------------------------------------------------------------


def create(
    repo: RepoPaths,
    config: Config,
    repo_name: str | None,
    agent: str,
    task: str,
    base: str | None = None,
    force: bool = False,
    *,
    quiet: bool = False,
) -> Path:
    """Snapshot, then branch ``agents/AGENT/TASK`` from the base and add its worktree with
    ``.env`` and ``.agents-workspace/``. Returns the worktree's path."""
    echo: Echo = _silent if quiet else print
    start = time.perf_counter()
    validate_name("AGENT", agent)
    validate_name("TASK", task)
    main = main_worktree(repo)
    name = validate_name("REPO", repo_name) if repo_name else default_repo_name(
        main if main is not None else repo.common_dir
    )
    cwd = _cwd(repo)
    if _rev(cwd, "HEAD") is None:
        raise OssaError("the repository has no commits yet: make a first commit, then run this")
    branch = agent_branch(agent, task)
    _check_branch_name(cwd, branch, "branch")
    integration_branch(config, "base")  # a bad pattern fails here, before anything is made
    path = worktree_root(repo, config) / folder_name(name, agent, task)

    git.run(["worktree", "prune"], cwd)
    entries = worktree_entries(cwd)
    holder = next((e for e in entries if e.branch == branch), None)
    at_path = next((e for e in entries if _same(e.path, path)), None)
    fix = (f"use --force to replace it (its uncommitted work is snapshotted first, the branch"
           f" is kept), or finish it: ossa-hooks worktree cleanup {agent} {task}")
    if holder is not None and not force:
        raise OssaError(f"agent worktree {branch} already exists at {holder.path}: {fix}")
    if at_path is not None and at_path is not holder:
        raise OssaError(f"{path} is already the worktree of {at_path.branch or 'a detached HEAD'}:"
                        " choose another TASK name, or remove that worktree")
    if holder is None and path.exists() and any(path.iterdir()):
        raise OssaError(f"{path} exists and is not a worktree of this repository: move it away")
    if holder is None and branch_exists(cwd, branch) and not force:
        raise OssaError(f"branch {branch} already exists (from an earlier task): use --force to"
                        f" make a worktree for it, or delete it: git branch -D {branch}")

    if repo.toplevel is not None:
        saved = backup.snapshot(repo, hook="worktree-create",
                                   message=f"before worktree create {agent} {task}",
                                   config=config)
        if saved:
            echo(f"snapshot: {saved} (uncommitted work in {repo.toplevel})")
    base_name = resolve_base(repo, config, base, echo=echo)
    if holder is not None:
        repo = _outside(repo, holder.path)
        cwd = _cwd(repo)
        _remove_worktree(repo, config, holder.path, echo=echo, snapshot=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_excluded(repo, config)
    reused = branch_exists(cwd, branch)
    if reused:
        git.run(["worktree", "add", "--quiet", str(path), branch], cwd)
        base_commit = git.out(["merge-base", branch, base_name], cwd)
    else:
        base_commit = git.out(["rev-parse", "--verify", f"{base_name}^{{commit}}"], cwd)
        git.run(["worktree", "add", "--quiet", "--no-track", "-b", branch, str(path), base_name],
                cwd)
    try:
        if os.path.lexists(path / ENV_FILE):
            raise OssaError(
                f"{base_name} tracks {ENV_FILE}: the agent's {ENV_FILE} would be committable;"
                f" untrack it first (git rm --cached {ENV_FILE}, commit), then run this again"
            )
        values = env_values(repo, config, name, agent, task, base_name, base_commit, path, main)
        write_env(path / ENV_FILE, values)
        written = write_scaffold(path, values)
    except BaseException:
        # Half a worktree is worse than none: take back what this call made.
        git.run(["worktree", "remove", "--force", str(path)], cwd, check=False)
        if not reused:
            git.run(["branch", "-D", branch], cwd, check=False)
        raise
    if reused:
        echo(f"reused branch {branch} ({_short(cwd, branch)})")
    else:
        echo(f"created branch {branch} from {base_name} ({base_commit[:10]})")
    echo(f"worktree: {path}")
    echo(f"wrote {ENV_FILE} (mode 0600) and {WORKSPACE}/ ({' '.join(WORKSPACE_DIRS)};"
         f" {len(written)} files)")
    echo(f"hooks: {ensure_hooks(path)}")
    echo(f"cd {shlex.quote(str(path))}")
    _audit(repo, "create", 0, start, {"branch": branch, "path": str(path), "base": base_name})
    return path


def env_values(
    repo: RepoPaths,
    config: Config,
    repo_name: str,
    agent: str,
    task: str,
    base: str,
    base_commit: str,
    path: Path,
    main: Path | None,
) -> dict[str, object]:
    agents_budget: Mapping[str, int] = config.get("budget.agents")
    return {
        "OSSA_REPO_NAME": repo_name,
        "OSSA_AGENT_TYPE": agent,
        "OSSA_TASK_NAME": task,
        "OSSA_TOKEN_BUDGET_TASK": int(config.get("budget.task")),
        "OSSA_TOKEN_BUDGET_AGENT": agents_budget.get(agent),
        "OSSA_BASE_BRANCH": base,
        "OSSA_BASE_COMMIT": base_commit,
        "OSSA_BRANCH": agent_branch(agent, task),
        "OSSA_INTEGRATION_BRANCH": integration_branch(config, base),
        "OSSA_WORKTREE": str(path),
        "OSSA_WORKSPACE": str(path / WORKSPACE),
        "OSSA_REPO_ROOT": str(main if main is not None else repo.common_dir),
        "OSSA_CREATED_AT": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# --- list ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentWorktree:
    """A worktree on an ``agents/AGENT/TASK`` branch, with what its ``.env`` says."""

    path: Path
    agent: str
    task: str
    branch: str
    head: str
    repo_name: str
    base: str | None
    base_commit: str | None
    locked: bool = False
    missing: bool = False
    env: Mapping[str, str] = field(default_factory=dict)


def agent_worktrees(repo: RepoPaths, config: Config) -> list[AgentWorktree]:
    """Every worktree whose branch is ``agents/AGENT/TASK``, in ``git worktree list`` order."""
    found = []
    for e in worktree_entries(_cwd(repo)):
        if not e.branch or not e.branch.startswith(BRANCH_PREFIX) or not e.head:
            continue
        agent, _, task = e.branch.removeprefix(BRANCH_PREFIX).partition("/")
        if not agent or not task:
            continue
        env = read_env(e.path / ENV_FILE)
        repo_name = env.get("OSSA_REPO_NAME") or e.path.name.split(SEPARATOR)[0]
        found.append(
            AgentWorktree(
                path=e.path,
                agent=agent,
                task=task,
                branch=e.branch,
                head=e.head,
                repo_name=repo_name,
                base=env.get("OSSA_BASE_BRANCH") or None,
                base_commit=env.get("OSSA_BASE_COMMIT") or None,
                locked=e.locked,
                missing=e.prunable or not e.path.is_dir(),
                env=env,
            )
        )
    return found


def changes(worktree: Path, *, untracked: bool = True) -> list[str]:
    """Uncommitted paths of ``worktree`` (``git status``; ignored files do not count)."""
    args = ["--no-optional-locks", "status", "--porcelain", "-z",
            "--untracked-files=" + ("normal" if untracked else "no")]
    data = git.run(args, worktree).stdout
    paths, skip = [], False
    for item in git.split_z(data):
        if skip:  # the source path of a rename or copy
            skip = False
            continue
        paths.append(item[3:])
        skip = item[:1] in ("R", "C")
    return paths


def ahead_behind(cwd: Path, target: str, branch: str) -> tuple[int, int]:
    """(commits on ``branch`` not on ``target``, commits on ``target`` not on ``branch``)."""
    text = git.out(["rev-list", "--left-right", "--count", f"{target}...{branch}"], cwd)
    behind, ahead = (int(x) for x in text.split())
    return ahead, behind


def merge_target(repo: RepoPaths, config: Config, wt: AgentWorktree) -> tuple[str, str]:
    """(integration branch name, ref to compare with: it, or the base while it does not exist)."""
    cwd = _cwd(repo)
    base = wt.base or _default_base(repo, config)
    target = integration_branch(config, base)
    return target, target if branch_exists(cwd, target) else base


def describe(repo: RepoPaths, config: Config) -> list[dict[str, Any]]:
    """One record per agent worktree: what ``worktree list`` shows."""
    cwd = _cwd(repo)
    from ossa_hooks.agents import budget as budget
    from ossa_hooks.judge import gate as judge
    worktrees = agent_worktrees(repo, config)
    usage = {u.branch: u for u in budget.usage(repo, [wt.branch for wt in worktrees])}
    rows = []
    for wt in worktrees:
        target, compare = merge_target(repo, config, wt)
        ahead: int | None = None
        behind: int | None = None
        if _rev(cwd, compare) is not None:
            ahead, behind = ahead_behind(cwd, compare, wt.branch)
        dirty = None if wt.missing else changes(wt.path)
        v = judge.last_verdict(repo, wt.branch)
        verdict = None if v is None else ("passed" if v.passed else "failed")
        task_usage = usage.get(wt.branch)
        used = task_usage.used if task_usage is not None else 0
        task_budget = wt.env.get("OSSA_TOKEN_BUDGET_TASK") or str(config.get("budget.task"))
        rows.append({
            "path": str(wt.path),
            "repo": wt.repo_name,
            "agent": wt.agent,
            "task": wt.task,
            "branch": wt.branch,
            "base": wt.base,
            "integration_branch": target,
            "compared_with": compare,
            "ahead": ahead,
            "behind": behind,
            "state": "missing" if dirty is None else ("dirty" if dirty else "clean"),
            "changes": None if dirty is None else len(dirty),
            "locked": wt.locked,
            "verdict": verdict,
            "tokens_used": used,
            "token_budget": int(task_budget) if task_budget.isdigit() else None,
        })
    return rows


def format_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "no agent worktrees (create one: ossa-hooks worktree create AGENT TASK)"
    header = ("AGENT", "TASK", "BRANCH", "AHEAD/BEHIND", "STATE", "JUDGE", "TOKENS", "PATH")
    table = [header]
    for r in rows:
        ab = "-" if r["ahead"] is None else f"+{r['ahead']}/-{r['behind']} {r['compared_with']}"
        state = r["state"] + (f" ({r['changes']})" if r["changes"] else "")
        used = "-" if r["tokens_used"] is None else str(r["tokens_used"])
        cap = "-" if r["token_budget"] is None else str(r["token_budget"])
        table.append((r["agent"], r["task"], r["branch"], ab, state, r["verdict"] or "-",
                      f"{used}/{cap}", r["path"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in table
    )


# --- merge-back ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergeResult:
    target: str
    kind: str  # "fast-forward" | "merge" | "up-to-date"
    commit: str
    created: bool
    where: str  # "ref" (no checkout needed), "temporary worktree", or a worktree's path


class MergeConflict(OssaError):
    """The merge conflicted; it was parked on ``parked`` and nothing else changed."""

    def __init__(self, branch: str, target: str, parked: str, files: Sequence[str]) -> None:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        super().__init__(
            f"merging {branch} into {target} conflicts in {shown or 'some files'}; the conflicted"
            f" state is parked on {parked} and nothing else changed",
            code=EXIT_FAILED,
        )
        self.branch = branch
        self.target = target
        self.parked = parked
        self.files = tuple(files)


def merge_back(
    repo: RepoPaths, config: Config, branch: str, base: str, *, today: str | None = None
) -> MergeResult:
    """Merge ``branch`` into the integration branch of ``base`` (created from it when missing).

    The main worktree's branch and files are never touched: a fast-forward of a branch that no
    worktree has checked out is a ref update; a merge commit is made where the integration
    branch is checked out (when that worktree is clean) or in a temporary worktree.
    """
    cwd = _cwd(repo)
    target = _check_branch_name(cwd, integration_branch(config, base, today), "integration_branch")
    created = False
    if not branch_exists(cwd, target):
        if not branch_exists(cwd, base):
            raise OssaError(f"base branch {base} does not exist: pass --base or recreate it")
        git.run(["branch", "--no-track", target, base], cwd)
        created = True
    src = git.out(["rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}"], cwd)
    old = git.out(["rev-parse", "--verify", f"refs/heads/{target}^{{commit}}"], cwd)
    if is_ancestor(cwd, src, old):
        return MergeResult(target, "up-to-date", old, created, "ref")
    holder = next((e for e in worktree_entries(cwd) if e.branch == target and not e.prunable),
                  None)
    if holder is None:
        if is_ancestor(cwd, old, src):
            git.run(["update-ref", "-m", f"ossa-hooks: fast-forward to {branch}",
                     f"refs/heads/{target}", src, old], cwd)
            return MergeResult(target, "fast-forward", src, created, "ref")
        with temporary_worktree(repo, target) as tmp:
            kind, commit = _merge_in(repo, config, tmp, branch, target, src)
        return MergeResult(target, kind, commit, created, "temporary worktree")
    dirty = changes(holder.path, untracked=False)
    if dirty:
        raise OssaError(
            f"{target} is checked out in {holder.path} with uncommitted changes"
            f" ({', '.join(dirty[:3])}): commit or stash them there, then run this again",
            code=EXIT_FAILED,
        )
    kind, commit = _merge_in(repo, config, holder.path, branch, target, src)
    return MergeResult(target, kind, commit, created, str(holder.path))


def _merge_in(
    repo: RepoPaths, config: Config, where: Path, branch: str, target: str, src: str
) -> tuple[str, str]:
    proc = git.run([*NO_HOOKS, "merge", "--ff", "--no-edit", branch], where, check=False)
    if proc.returncode == 0:
        head = git.out(["rev-parse", "HEAD"], where)
        return ("fast-forward" if head == src else "merge"), head
    if not git.ok(["rev-parse", "-q", "--verify", "MERGE_HEAD"], where):
        raise git.GitError(["merge", branch], proc.returncode,
                           (proc.stderr or proc.stdout).decode("utf-8", "replace"))
    files = git.split_z(git.run(["diff", "--name-only", "--diff-filter=U", "-z"], where).stdout)
    parked = backup.park(git.repo_paths(where), reason=f"merge {branch} into {target}",
                            config=config)
    # park aborts the merge; make sure, so the worktree is exactly as before.
    if git.ok(["rev-parse", "-q", "--verify", "MERGE_HEAD"], where):
        git.run(["merge", "--abort"], where, check=False)
    raise MergeConflict(branch, target, parked, files)


@contextmanager
def temporary_worktree(repo: RepoPaths, branch: str) -> Iterator[Path]:
    """``branch`` checked out in a worktree under the state dir; removed afterwards, always."""
    parent = repo.state_dir / "tmp"
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="merge-", dir=parent))
    cwd = _cwd(repo)
    try:
        git.run([*NO_HOOKS, "worktree", "add", "--quiet", str(path), branch], cwd)
        yield path
    finally:
        git.run(["worktree", "remove", "--force", "--force", str(path)], cwd, check=False)
        shutil.rmtree(path, ignore_errors=True)
        git.run(["worktree", "prune"], cwd, check=False)


# --- cleanup ---------------------------------------------------------------------------------


def cleanup(
    repo: RepoPaths,
    config: Config,
    repo_name: str | None,
    agent: str,
    task: str,
    *,
    merge: bool = True,
    force: bool = False,
    interactive: bool | None = None,
    echo: Echo = print,
    gate: bool = True,
    accept_config_change: bool = False,
) -> int:
    """Snapshot, merge ``agents/AGENT/TASK`` back, remove its worktree and branch. The merge
    waits for the judge's merge gate (``judge.trusted.enforce_merge_gate``) unless not ``gate``."""
    start = time.perf_counter()
    validate_name("AGENT", agent)
    validate_name("TASK", task)
    if repo_name:
        validate_name("REPO", repo_name)
    cwd = _cwd(repo)
    branch = agent_branch(agent, task)
    wt = next((w for w in agent_worktrees(repo, config) if w.branch == branch), None)
    if wt is None and not branch_exists(cwd, branch):
        raise OssaError(f"no agent worktree or branch {branch} (see: ossa-hooks worktree list)")
    if wt is not None and repo_name and wt.repo_name != repo_name:
        raise OssaError(f"{branch} is a worktree of repository {wt.repo_name!r}, not"
                        f" {repo_name!r}: run `ossa-hooks worktree cleanup {agent} {task}`")
    if wt is not None:
        # Cleaning up the worktree one stands in: work from the main worktree instead.
        repo = _outside(repo, wt.path)
        cwd = _cwd(repo)
    if wt is not None and wt.locked:
        raise OssaError(f"{wt.path} is locked: `git worktree unlock {shlex.quote(str(wt.path))}`"
                        " first")
    if wt is not None and not wt.missing:
        saved = backup.snapshot(git.repo_paths(wt.path), hook="worktree-cleanup",
                                   message=f"before worktree cleanup {agent} {task}",
                                   config=config)
        if saved:
            echo(f"snapshot: {saved}")
        dirty = changes(wt.path)
        if dirty and not force:
            where = f" (saved on {saved})" if saved else ""
            raise OssaError(
                f"{wt.path} has uncommitted changes in {len(dirty)} path(s){where}: commit them on"
                f" {branch}, or use --force to remove it anyway (the snapshot keeps them)",
                code=EXIT_FAILED,
            )
    base = (wt.base if wt is not None else None) or _default_base(repo, config)
    merged_into: str | None = None
    if merge:
        from ossa_hooks.judge.trusted import enforce_merge_gate

        enforce_merge_gate(repo, config, branch, gate=gate,
                           accept_config_change=accept_config_change, echo=echo)
        try:
            result = merge_back(repo, config, branch, base)
        except MergeConflict as e:
            here = shlex.quote(str(wt.path)) if wt is not None and not wt.missing else None
            step = (f"cd {here} && git merge {e.target}, resolve, commit" if here
                    else f"merge {e.target} into {branch}, resolve, commit")
            _audit(repo, "conflict", EXIT_FAILED, start,
                   {"branch": branch, "target": e.target, "parked": e.parked})
            raise OssaError(
                f"{e.message}. Next: {step}, then run `ossa-hooks worktree cleanup {agent} {task}`"
                f" again (see the conflict: git show {e.parked})",
                code=EXIT_FAILED,
            ) from None
        merged_into = result.target
        made = " (created from " + base + ")" if result.created else ""
        echo(f"merged {branch} into {result.target}{made}: {result.kind} ({result.commit[:10]})")
        _print_budget(repo, config, [branch], echo)
    if wt is not None:
        _remove_worktree(repo, config, wt.path, echo=echo, snapshot=False)
    git.run(["worktree", "prune"], cwd)
    _delete_branch(repo, config, branch, base, merged_into, echo)
    _offer_snapshot_prune(repo, interactive, echo)
    _audit(repo, "cleanup", 0, start, {"branch": branch, "merged_into": merged_into,
                                       "path": str(wt.path) if wt else None})
    return 0


def _remove_worktree(
    repo: RepoPaths, config: Config, path: Path, *, echo: Echo, snapshot: bool
) -> None:
    if snapshot and path.is_dir():
        saved = backup.snapshot(git.repo_paths(path), hook="worktree-replace",
                                   message="before replacing the worktree", config=config)
        if saved:
            echo(f"snapshot: {saved}")
    _leave(path, repo, echo)
    cwd = _cwd(repo)
    if path.is_dir():
        git.run(["worktree", "remove", "--force", str(path)], cwd)
    git.run(["worktree", "prune"], cwd)
    echo(f"removed worktree {path}")


def _leave(path: Path, repo: RepoPaths, echo: Echo) -> None:
    """Move this process out of ``path`` before it is deleted."""
    try:
        here = Path.cwd()
    except OSError:
        return
    if _within(here, path):
        away = main_worktree(repo) or repo.common_dir
        os.chdir(away)
        echo(f"note: you were inside it; now: cd {shlex.quote(str(away))}")


def _delete_branch(
    repo: RepoPaths, config: Config, branch: str, base: str, merged_into: str | None, echo: Echo
) -> None:
    cwd = _cwd(repo)
    keep_in = [b for b in (merged_into, integration_branch(config, base), base) if b]
    safe = any(branch_exists(cwd, b) and is_ancestor(cwd, f"refs/heads/{branch}", f"refs/heads/{b}")
               for b in keep_in)
    if not safe:
        echo(f"kept branch {branch}: it is not merged (delete it with: git branch -D {branch})")
        return
    git.run(["branch", "-D", branch], cwd)
    echo(f"deleted branch {branch}")


def _offer_snapshot_prune(repo: RepoPaths, interactive: bool | None, echo: Echo) -> None:
    """Offer to delete snapshots already merged (backup asks on a terminal; without one it
    only says what could go)."""
    if interactive is False or repo.toplevel is None:
        return
    deleted = backup.prune(repo, merged=True, ask=True)
    if deleted:
        echo(f"pruned {len(deleted)} merged snapshot(s)")


# --- the post-merge hook ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sweep:
    removed: tuple[AgentWorktree, ...]
    kept: tuple[tuple[AgentWorktree, str], ...]


def sweep(repo: RepoPaths, config: Config, into: str = "HEAD") -> Sweep:
    """Remove the agent worktrees whose branches are merged into ``into`` and clean.

    A worktree whose branch has no commit of its own yet (still at its base commit) is not
    "merged", it is unstarted, and is left alone without a word.
    """
    here = repo.toplevel.resolve() if repo.toplevel is not None else None
    cwd = _cwd(repo)
    removed: list[AgentWorktree] = []
    kept: list[tuple[AgentWorktree, str]] = []
    for wt in agent_worktrees(repo, config):
        if here is not None and wt.path.resolve() == here:
            continue
        fork = wt.base_commit or _creation_commit(cwd, wt.branch)
        if fork is None or _same_commit(cwd, fork, wt.head):
            continue
        if not is_ancestor(cwd, wt.head, into):
            kept.append((wt, "not merged"))
            continue
        if wt.locked:
            kept.append((wt, "locked"))
            continue
        if not wt.missing and changes(wt.path):
            kept.append((wt, "uncommitted changes"))
            continue
        try:
            _remove_worktree(repo, config, wt.path, echo=_silent, snapshot=False)
            if is_ancestor(cwd, f"refs/heads/{wt.branch}", into):
                git.run(["branch", "-D", wt.branch], cwd)
        except OssaError as e:  # one stuck worktree must not stop the others
            kept.append((wt, f"not removed: {e.message}"))
            continue
        removed.append(wt)
    return Sweep(tuple(removed), tuple(kept))


def hook(ctx: HookContext) -> int:
    """post-merge (``ossa-cleanup``): remove merged, clean agent worktrees; report the rest."""
    start = time.perf_counter()
    repo = ctx.repo
    if repo.toplevel is None:
        return 0
    # A merge into an agent branch (an agent taking another's work) finishes no task: the
    # other agent may still be working in its worktree.
    if (current_branch(repo.toplevel) or "").startswith(BRANCH_PREFIX):
        return 0
    result = sweep(repo, ctx.config)
    for wt in result.removed:
        print(f"ossa-cleanup: removed {wt.path} and branch {wt.branch} (merged)")
    if result.kept:
        kept = ", ".join(f"{wt.branch} ({why})" for wt, why in result.kept)
        print(f"ossa-cleanup: kept {kept}")
    if result.removed:
        _print_budget(repo, ctx.config, [wt.branch for wt in result.removed], print)
        _audit(repo, "sweep", 0, start, {"removed": [wt.branch for wt in result.removed],
                                        "kept": {wt.branch: why for wt, why in result.kept}})
    return 0


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


def _print_budget(repo: RepoPaths, config: Config, branches: Sequence[str], echo: Echo) -> None:
    from ossa_hooks.agents import budget as budget
    text = budget.report_for_branches(repo, config, list(branches))
    if text:
        echo(str(text).rstrip("\n"))


def _audit(repo: RepoPaths, name: str, code: int, start: float, detail: Mapping[str, Any]) -> None:
    from ossa_hooks import audit

    audit.record(repo, "worktree", name, code, time.perf_counter() - start, detail)
