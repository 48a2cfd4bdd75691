"""``doctor``: for the repository and each linked worktree, what is installed and what is wrong."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.config import HOOK_TYPES
from ossa_hooks.errors import OssaError
from ossa_hooks.install import current_shim_version
from ossa_hooks.install import hooks_dir
from ossa_hooks.install import shim_version
from ossa_hooks.install import state


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


def check_worktree(top: Path) -> tuple[list[str], int]:
    """Lines for one worktree, and how many problems they report."""
    from ossa_hooks import config as config_mod

    lines: list[str] = []
    problems = 0
    if not top.is_dir():
        return [f"problem {top}: worktree folder is missing (run `git worktree prune`)"], 1
    try:
        config_mod.load(top)
        lines.append(f"ok      {top}: config valid")
    except OssaError as e:
        lines.append(f"problem {top}: {e.message}")
        problems += 1
    folder = hooks_dir(str(top))
    for hook_type in HOOK_TYPES:
        st = state(folder, hook_type)
        label = f"{top}: {hook_type}"
        if not st.present:
            lines.append(f"missing {label}: not installed (run `ossa-hooks install`)")
            problems += 1
            continue
        if not st.ours:
            lines.append(f"foreign {label}: {st.path} is not an ossa-hooks shim")
            continue
        if not st.path.stat().st_mode & 0o111:
            lines.append(f"problem {label}: {st.path} is not executable (chmod +x it)")
            problems += 1
            continue
        trouble = interpreter_problem(st.python or "")
        if trouble:
            lines.append(f"problem {label}: {trouble} (run `ossa-hooks install` again)")
            problems += 1
            continue
        chained = f", runs {hook_type}.legacy first" if st.legacy else ""
        older = ""
        if shim_version(st.path.read_text(encoding="utf-8", errors="replace")) != \
                current_shim_version():
            older = " (written by an older ossa-hooks: `ossa-hooks install` again updates it)"
        lines.append(f"ok      {label}: shim -> {st.python}{chained}{older}")
    return lines, problems


def doctor(repo_arg: str | None) -> int:
    git.repo_paths(repo_arg)
    total = 0
    for top in worktrees(repo_arg):
        lines, problems = check_worktree(top)
        print("\n".join(lines))
        total += problems
    print(f"{total} problem(s)" if total else "all good")
    return 1 if total else 0
