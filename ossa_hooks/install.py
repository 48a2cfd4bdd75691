"""``install`` / ``uninstall``: the hook shims, chaining a hook that was there before, the
default config and the required ``.gitignore`` entries."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.config import CONFIG_NAME
from ossa_hooks.config import HOOK_TYPES
from ossa_hooks.errors import OssaError

MARKER = "# ossa-hooks-shim-version:"
LEGACY = ".legacy"
REPLACED = ".ossa-replaced"


@dataclass(frozen=True, slots=True)
class HookState:
    """What is at one hook path: ours, someone else's, or nothing; and a kept older hook."""

    hook_type: str
    path: Path
    ours: bool
    present: bool
    legacy: bool
    python: str | None


def hooks_dir(cwd: str | os.PathLike[str] | None) -> Path:
    """The folder git runs hooks from, ``core.hooksPath`` included (shared by all worktrees)."""
    return Path(git.out(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], cwd))


def is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return MARKER.encode() in head


def shim_python(path: Path) -> str | None:
    """The interpreter a shim of ours was installed with."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("OSSA_PYTHON="):
            parts = shlex.split(line.partition("=")[2])
            return parts[0] if parts else None
    return None


def shim_version(text: str) -> int | None:
    """The version a shim's marker line states (None when there is no readable one)."""
    for line in text.splitlines()[:5]:
        if line.startswith(MARKER):
            value = line[len(MARKER):].strip()
            return int(value) if value.isdigit() else None
    return None


def current_shim_version() -> int | None:
    """The version of the shim ``install`` writes now."""
    from ossa_hooks.resources import data_dir

    return shim_version((data_dir("hooks") / "shim.sh").read_text(encoding="utf-8"))


def state(folder: Path, hook_type: str) -> HookState:
    path = folder / hook_type
    ours = is_ours(path)
    return HookState(
        hook_type=hook_type,
        path=path,
        ours=ours,
        present=path.exists() or path.is_symlink(),
        legacy=(folder / (hook_type + LEGACY)).exists(),
        python=shim_python(path) if ours else None,
    )


def render_shim(hook_type: str, python: str) -> str:
    from ossa_hooks.resources import data_dir

    text = (data_dir("hooks") / "shim.sh").read_text(encoding="utf-8")
    return (
        text.replace("@HOOK_TYPE@", shlex.quote(hook_type))
        .replace("@PYTHON@", shlex.quote(python))
        .replace("@SYSPATH@", shlex.quote(recorded_path(python)))
        .replace("@START@", start_lines(hook_type))
    )


def start_lines(hook_type: str) -> str:
    """The shim's last lines: start the interpreter, and with it the actions' git questions.

    Each action serving ``hook_type`` may name a ``prefetch`` function giving shell lines
    that print ``NAME EXIT-STATUS`` (background jobs allowed); their output becomes the
    interpreter's standard input, read by ``hook_context.Prefetched``. When no action
    prefetches, the shim simply starts the interpreter.
    """
    from ossa_hooks.actions import ACTIONS

    gate = _gate(hook_type, ACTIONS)
    jobs = []
    for action in ACTIONS:
        if action.prefetch is None or hook_type not in action.hook_types:
            continue
        module_name, _, func_name = action.prefetch.partition(":")
        jobs.append(str(getattr(__import__(module_name, fromlist=[func_name]),
                                func_name)(hook_type)).rstrip("\n"))
    if not jobs:
        return gate + 'ossa_start "$@"'
    return gate + (
        "# Read-only git questions the actions will ask, started while the interpreter starts\n"
        "# (its start-up is half of a hook's time); each answer reaches the hook on its\n"
        '# standard input as a line "NAME EXIT-STATUS". Written from the actions table.\n'
        "{\n" + "\n".join(jobs) + "\n    wait\n"
        '} 2>/dev/null | { OSSA_PREFETCH=stdin; ossa_start "$@"; }\n'
        "exit $?"
    )


def _gate(hook_type: str, actions: Sequence[Any]) -> str:
    """A shell line that ends the hook before the interpreter starts, when every action
    serving ``hook_type`` names a ``gate`` (a test that must hold for any of them to work)."""
    tests = []
    for action in actions:
        if hook_type not in action.hook_types:
            continue
        if action.gate is None:
            return ""
        module_name, _, func_name = action.gate.partition(":")
        test = str(getattr(__import__(module_name, fromlist=[func_name]), func_name)(hook_type))
        if not test:
            return ""
        tests.append(f"{{ {test}; }}")
    if not tests:
        return ""
    return ("# No action of this hook type has work unless this holds: no interpreter then.\n"
            f"{' || '.join(tests)} || exit 0\n")


def recorded_path(python: str) -> str:
    """The module path a shim gives ``python`` started with ``-S`` (empty: start it normally).

    Only known for the running interpreter; a path containing ``:`` cannot be passed on.
    The first entry of ``sys.path`` is where this process was started from (the console
    script's folder, or the current directory under ``python -m``, possibly the repository
    itself): a hook must never import from there, so it is left out unless ossa_hooks is found
    nowhere else (a source checkout run in place).
    """
    if python != sys.executable:
        return ""
    candidates = sys.path if getattr(sys.flags, "safe_path", False) else sys.path[1:]
    entries = [p for p in candidates if p and os.path.isdir(p)]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not any(os.path.isdir(os.path.join(p, "ossa_hooks")) for p in entries):
        entries.append(here)
    if any(":" in p for p in entries):
        return ""
    return ":".join(dict.fromkeys(entries))


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.ossa-tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, path)


def _validate_types(hook_types: Sequence[str]) -> list[str]:
    chosen = list(hook_types) or list(HOOK_TYPES)
    for t in chosen:
        if t not in HOOK_TYPES:
            raise OssaError(f"unknown hook type '{t}' (one of {', '.join(HOOK_TYPES)})")
    return chosen


def install(
    repo_arg: str | None,
    hook_types: Sequence[str] = (),
    force: bool = False,
    python: str | None = None,
) -> int:
    repo = git.repo_paths(repo_arg, option="--repo")
    chosen = _validate_types(hook_types)
    folder = hooks_dir(repo_arg)
    folder.mkdir(parents=True, exist_ok=True)
    interpreter = python or sys.executable
    # Check every hook before touching any, so a refusal leaves nothing half-installed.
    plans = [state(folder, t) for t in chosen]
    for st in plans:
        if st.present and not st.ours and st.legacy and not force:
            raise OssaError(
                f"{st.path} is not an ossa-hooks shim and {st.path.name}{LEGACY} already exists:"
                f" move one of them away, or use --force to replace {st.path.name}"
                f" (a copy is kept as {st.path.name}{REPLACED})"
            )
    for st in plans:
        note = "installed"
        if st.present and not st.ours:
            if st.legacy:
                os.replace(st.path, folder / (st.hook_type + REPLACED))
                note = f"installed (replaced hook kept as {st.hook_type}{REPLACED})"
            else:
                os.replace(st.path, folder / (st.hook_type + LEGACY))
                note = f"installed (existing hook kept as {st.hook_type}{LEGACY}, runs first)"
        text = render_shim(st.hook_type, interpreter)
        if st.ours:
            same = st.path.read_text(encoding="utf-8", errors="replace") == text
            note = "already installed" if same else "updated"
        _write_executable(st.path, text)
        print(f"{st.hook_type}: {note}")
    print(f"hooks folder: {folder}")
    print(f"interpreter: {interpreter}")
    if repo.toplevel is not None:
        _write_default_config(repo.toplevel)
        _ensure_gitignore(repo)
    return 0


def uninstall(repo_arg: str | None, hook_types: Sequence[str] = ()) -> int:
    git.repo_paths(repo_arg, option="--repo")
    chosen = _validate_types(hook_types)
    folder = hooks_dir(repo_arg)
    for t in chosen:
        st = state(folder, t)
        legacy = folder / (t + LEGACY)
        if st.present and not st.ours:
            print(f"{t}: not an ossa-hooks shim, left in place")
            continue
        if st.ours:
            st.path.unlink()
        if legacy.exists():
            os.replace(legacy, st.path)
            print(f"{t}: removed; the earlier hook is back")
        elif st.ours:
            print(f"{t}: removed")
        else:
            print(f"{t}: not installed")
    return 0


def _write_default_config(top: Path) -> None:
    from ossa_hooks.resources import template

    target = top / CONFIG_NAME
    if target.exists():
        print(f"config: {CONFIG_NAME} kept")
        return
    target.write_bytes(template("ossa-hooks.yaml").read_bytes())
    print(f"config: wrote {CONFIG_NAME}")


def _ensure_gitignore(repo: git.RepoPaths) -> None:
    from ossa_hooks import config as config_mod
    from ossa_hooks import gitignore

    added = gitignore.fix(repo, config_mod.load(repo.toplevel))
    if added:
        print(f".gitignore: added {', '.join(added)}")
    else:
        print(".gitignore: has the required entries")
