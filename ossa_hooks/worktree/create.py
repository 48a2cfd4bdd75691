"""``worktree create``: the worktree, its branch, its ``.env`` and the scaffold."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import string
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree import include as worktree_include
from ossa_hooks.worktree.cleanup import _remove_worktree
from ossa_hooks.worktree.records import _EXCLUDED
from ossa_hooks.worktree.records import ENV_FILE
from ossa_hooks.worktree.records import SCAFFOLD_TEMPLATE
from ossa_hooks.worktree.records import WORKSPACE
from ossa_hooks.worktree.records import WORKSPACE_DIRS
from ossa_hooks.worktree.records import Echo
from ossa_hooks.worktree.records import _audit
from ossa_hooks.worktree.records import _check_branch_name
from ossa_hooks.worktree.records import _cwd
from ossa_hooks.worktree.records import _outside
from ossa_hooks.worktree.records import _rev
from ossa_hooks.worktree.records import _same
from ossa_hooks.worktree.records import _short
from ossa_hooks.worktree.records import _silent
from ossa_hooks.worktree.records import agent_branch
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import current_branch
from ossa_hooks.worktree.records import default_repo_name
from ossa_hooks.worktree.records import folder_name
from ossa_hooks.worktree.records import integration_branch
from ossa_hooks.worktree.records import main_worktree
from ossa_hooks.worktree.records import resolve_base
from ossa_hooks.worktree.records import validate_name
from ossa_hooks.worktree.records import worktree_entries
from ossa_hooks.worktree.records import worktree_root
from ossa_hooks.worktree.records import write_env
from ossa_hooks.worktree.safety import record_base
from ossa_hooks.worktree.safety import refuse_symlink


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
        refuse_symlink(worktree, base / name, f"{WORKSPACE}/")
        (base / name).mkdir(parents=True, exist_ok=True)
    written = []
    for src, rel in scaffold_files():
        target = worktree / rel
        refuse_symlink(worktree, target, f"{WORKSPACE}/")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.name.endswith(".tmpl"):
            text = string.Template(src.read_text(encoding="utf-8")).safe_substitute(
                {k: json.dumps(v, ensure_ascii=False) for k, v in values.items()}
            )
            # A rendered file (config/task.yaml) repeats the .env facts: the same mode, 0600,
            # whatever the umask.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            shutil.copyfile(src, target)
        written.append(rel)
    return written


def ensure_excluded(repo: RepoPaths, config: Config) -> list[str]:
    """Put the per-worktree files (and ``worktree_root``) in the common ``info/exclude``."""
    from ossa_hooks.ignore_entries import add_gitignore_entries

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
    from ossa_hooks import managers
    from ossa_hooks.config import HOOK_TYPES

    folder = install.hooks_dir(worktree)
    folder.mkdir(parents=True, exist_ok=True)
    added, foreign = [], []
    for hook_type in HOOK_TYPES:
        st = install.state(folder, hook_type)
        if st.ours or managers.layout(folder, hook_type).shim is not None:
            continue  # ours, or joined to another manager (pre-commit, lefthook) that runs it
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
    include: bool = True,
) -> Path:
    """Snapshot, then branch ``agents/AGENT/TASK`` from the base and add its worktree with
    ``.env`` and ``.agents-workspace/``; with ``include``, the ignored files ``.worktreeinclude``
    lists are carried over from the main worktree. Returns the worktree's path."""
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
    if main is not None:  # a committed `.worktrees` symlink must not carry worktrees away
        refuse_symlink(main, path, "worktrees")

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
    start_at, start_label = start_point(repo, base_name, explicit=base is not None)
    if holder is not None:
        repo = _outside(repo, holder.path)
        cwd = _cwd(repo)
        _remove_worktree(repo, config, holder.path, echo=echo, snapshot=True)
    made_root = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_excluded(repo, config)
    reused = branch_exists(cwd, branch)
    try:
        if reused:
            git.run(["worktree", "add", "--quiet", str(path), branch], cwd)
            base_commit = git.out(["merge-base", branch, base_name], cwd)
        else:
            base_commit = git.out(["rev-parse", "--verify", f"{start_at}^{{commit}}"], cwd)
            git.run(["worktree", "add", "--quiet", "--no-track", "-b", branch, str(path),
                     base_commit], cwd)
    except BaseException:
        if made_root:  # leave no empty worktree_root behind
            with contextlib.suppress(OSError):
                path.parent.rmdir()
        raise
    try:
        if os.path.lexists(path / ENV_FILE):
            raise OssaError(
                f"{base_name} tracks {ENV_FILE}: the agent's {ENV_FILE} would be committable;"
                f" untrack it first (git rm --cached {ENV_FILE}, commit), then run this again"
            )
        record_base(repo, branch, base_name, base_commit)  # trusted: not the agent's .env
        carried = worktree_include.carry_over(main, path, env_file=ENV_FILE,
                                               skip=(WORKSPACE,)) if (
            include and main is not None) else None
        values = env_values(repo, config, name, agent, task, base_name, base_commit, path, main)
        write_env(path / ENV_FILE, values)
        env_keys = worktree_include.merge_env(carried.env, path / ENV_FILE) if (
            carried is not None and carried.env is not None) else None
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
        echo(f"created branch {branch} from {start_label} ({base_commit[:10]})")
    echo(f"worktree: {path}")
    echo(f"wrote {ENV_FILE} (mode 0600) and {WORKSPACE}/ ({' '.join(WORKSPACE_DIRS)};"
         f" {len(written)} files)")
    carried_line = worktree_include.summary(carried, env_keys) if carried is not None else None
    if carried_line:
        echo(carried_line)
    echo(f"hooks: {ensure_hooks(path)}")
    echo(f"cd {shlex.quote(str(path))}")
    _audit(repo, "create", 0, start, {"branch": branch, "path": str(path), "base": base_name,
                                      "base_commit": base_commit, "from": start_label})
    return path


def start_point(repo: RepoPaths, base_name: str, *, explicit: bool) -> tuple[str, str]:
    """Where a new agent branch starts, and how messages name it: the commit checked out in the
    worktree the command runs from (its branch's name, or ``HEAD of PATH``), unless ``--base``
    named the base branch (its tip then). A bare repository has no checkout: the base's tip."""
    top = repo.toplevel
    if explicit or top is None:
        return base_name, base_name
    commit = _rev(top, "HEAD")
    if commit is None:
        return base_name, base_name
    return commit, current_branch(top) or f"HEAD of {top}"


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


