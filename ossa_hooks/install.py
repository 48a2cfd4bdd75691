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
from ossa_hooks.managers import CHAINED
from ossa_hooks.managers import LEFTHOOK_OLD
from ossa_hooks.managers import PRE_COMMIT_LEGACY as LEGACY
from ossa_hooks.managers import SIDE
from ossa_hooks.managers import Layout
from ossa_hooks.managers import layout
from ossa_hooks.managers import older_chain
from ossa_hooks.managers import plan
from ossa_hooks.managers import same_hook
from ossa_hooks.managers import shim_version

MARKER = "# ossa-hooks-shim-version:"


@dataclass(frozen=True, slots=True)
class HookState:
    """What is at one hook path: ours, someone else's, or nothing; and a kept older hook."""

    hook_type: str
    path: Path
    ours: bool
    present: bool
    chained: bool
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
        chained=(folder / (hook_type + CHAINED)).exists(),
        python=shim_python(path) if ours else None,
    )


def render_shim(hook_type: str, python: str, chain: str = "exec") -> str:
    from ossa_hooks.resources import data_dir

    text = (data_dir("hooks") / "shim.sh").read_text(encoding="utf-8")
    return (
        text.replace("@HOOK_TYPE@", shlex.quote(hook_type))
        .replace("@CHAIN@", chain)
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
    from ossa_hooks import managers

    repo = git.repo_paths(repo_arg, option="--repo")
    chosen = _validate_types(hook_types)
    folder = hooks_dir(repo_arg)
    folder.mkdir(parents=True, exist_ok=True)
    interpreter = python or sys.executable
    top = repo.toplevel
    # Plan every hook before touching any, so a refusal leaves nothing half-installed.
    steps = [plan(layout(folder, t), top, force) for t in chosen]
    joined = {s.hook_type: s.shim for s in steps if s.lefthook and s.shim is not None}
    if joined:
        _check_lefthook(top, joined)
    for step in steps:
        for src, dst in step.moves:
            if dst is None:
                src.unlink()
            else:
                os.replace(src, dst)
        note = step.note
        status = ""
        if step.shim is not None:
            chained = folder / (step.hook_type + CHAINED)
            mode = managers.chain_mode(chained) if chained.exists() else "exec"
            text = render_shim(step.hook_type, interpreter, mode)
            try:
                before: str | None = step.shim.read_text(encoding="utf-8", errors="replace")
            except OSError:
                before = None
            if before != text:
                _write_executable(step.shim, text)
            status = ("installed" if before is None else
                      "already installed" if before == text else "updated")
        print(f"{step.hook_type}: {status} ({note})" if status and note
              else f"{step.hook_type}: {status or note}")
    if top is not None:
        entries = {t: p for t, p in joined.items()}
        entries.update({t: folder / (t + SIDE) for t in managers.lefthook_entries(top)
                        if t not in chosen and (folder / (t + SIDE)).exists()})
        if managers.lefthook_write(top, dict(sorted(entries.items()))):
            print(f"{managers.LEFTHOOK_LOCAL}: runs ossa-hooks for {', '.join(sorted(entries))}")
    print(f"hooks folder: {folder}")
    print(f"interpreter: {interpreter}")
    if top is not None:
        _write_default_config(top)
        _ensure_gitignore(repo)
    return 0


def _check_lefthook(top: Path | None, joined: dict[str, Path]) -> None:
    from ossa_hooks import managers

    if top is None:
        raise OssaError("lefthook manages these hooks, and a bare repository has no"
                        " lefthook-local.yml to add ossa-hooks to")
    conflicts = managers.lefthook_conflicts(top, list(joined))
    if conflicts or not managers.lefthook_appendable(top):
        print(f"add this to {top / managers.LEFTHOOK_LOCAL} (merging it with the"
              f" {', '.join(conflicts) or 'existing'} section there):\n")
        print(managers.lefthook_block(joined))
        raise OssaError(f"{managers.LEFTHOOK_LOCAL} already defines"
                        f" {', '.join(conflicts) or 'content without a final newline'}:"
                        " add the lines above to it, then run `ossa-hooks install` again")


def uninstall(repo_arg: str | None, hook_types: Sequence[str] = ()) -> int:
    from ossa_hooks import managers

    repo = git.repo_paths(repo_arg, option="--repo")
    chosen = _validate_types(hook_types)
    folder = hooks_dir(repo_arg)
    top = repo.toplevel
    for t in chosen:
        print(f"{t}: {_uninstall_one(layout(folder, t))}")
    # Shims left in .git/hooks when a manager later pointed core.hooksPath elsewhere (husky).
    default = repo.common_dir / "hooks"
    if default.resolve() != folder.resolve():
        for t in chosen:
            lay = layout(default, t)
            if "ossa" in (lay.main, lay.side, lay.old):
                print(f"{t} in {default}: {_uninstall_one(lay)}")
    # The hooks are shared by every worktree, and so is the shim lefthook-local.yml runs.
    from ossa_hooks.doctor import worktrees

    for wt in dict.fromkeys([*([top] if top is not None else []), *worktrees(repo_arg)]):
        keep = {t: folder / (t + SIDE) for t in managers.lefthook_entries(wt)
                if t not in chosen}
        if wt.is_dir() and managers.lefthook_write(wt, keep):
            where = "" if wt == top else f" in {wt}"
            print(f"{managers.LEFTHOOK_LOCAL}{where}: "
                  + ("ossa-hooks block removed" if not keep else "ossa-hooks block updated"))
    return 0


def _uninstall_one(lay: Layout) -> str:
    """Remove ossa's files for one hook type; each earlier hook goes back where it was."""
    t = lay.hook_type
    said = []
    if lay.old == "ossa":
        lay.path(LEFTHOOK_OLD).unlink()
    if lay.side == "ossa":
        lay.path(SIDE).unlink()
        said.append("removed")
    if lay.main == "ossa":
        older = older_chain(lay)
        lay.path().unlink()
        said.append("removed")
        if lay.chained is not None:
            os.replace(lay.path(CHAINED), lay.path())
            said.append("the earlier hook is back")
        elif older:
            os.replace(lay.path(LEGACY), lay.path())
            said.append("the earlier hook is back")
        return "; ".join(said)
    if lay.main == "pre-commit" and lay.legacy == "ossa":
        lay.path(LEGACY).unlink()
        said.append("removed from pre-commit's migration mode")
        if lay.chained is not None:
            os.replace(lay.path(CHAINED), lay.path(LEGACY))
            said.append(f"the earlier hook is back as {t}{LEGACY} (pre-commit runs it)")
        return "; ".join(said)
    if lay.chained is not None:
        if lay.main is None:
            os.replace(lay.path(CHAINED), lay.path())
            said.append("the earlier hook is back")
        elif lay.main == "lefthook" and lay.old is None:
            os.replace(lay.path(CHAINED), lay.path(LEFTHOOK_OLD))
            said.append(f"the earlier hook is back as {t}{LEFTHOOK_OLD} (where lefthook keeps it)")
        elif lay.main == lay.chained and same_hook(lay.path(), lay.path(CHAINED), lay.main):
            lay.path(CHAINED).unlink()  # the manager wrote the same hook again
            said.append(f"{lay.main}'s hook was already back")
        else:
            said.append(f"{t}{CHAINED} left in place ({t} is another tool's hook)")
    if said:
        return "; ".join(said)
    if lay.main is not None:
        return "not an ossa-hooks shim, left in place"
    return "not installed"


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


def fix_hooks(repo: git.RepoPaths) -> list[str]:
    """``doctor --fix`` for the hook checks: what ``install`` does, in its own words."""
    import contextlib
    import io

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            install(repo.toplevel_str or repo.git_dir_str)
    except OssaError as e:
        return [f"hooks: not repaired: {e.message}"]
    return [f"hooks: {line}" for line in out.getvalue().splitlines()
            if ": " in line and "already installed" not in line
            and not line.startswith(("hooks folder:", "interpreter:", "config:", ".gitignore:"))]
