"""The project's environment: which interpreter and tools the judge's checks run with.

In order: the active virtualenv (``VIRTUAL_ENV``, unless it is the pre-commit framework's own
environment), a ``.venv`` or ``venv`` folder in the worktree or the main worktree (uv's
``UV_PROJECT_ENVIRONMENT`` when ``uv.lock`` is there), poetry's or hatch's environment asked
of the tool itself when ``poetry.lock`` / ``hatch.toml`` are present, the virtualenv ossa-hooks
runs from (the interpreter the hook shim recorded); else ``PATH`` as it is. ruff and bandit
installed beside ossa-hooks are the fallback for those two tools only: the project's tests
never run with another interpreter's pytest, and never in pre-commit's isolated environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence
    from pathlib import Path

    from ossa_hooks.doctor import Finding
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.judge.checks import Check

# Tools that may come from ossa-hooks' own environment when the project has none.
FALLBACK_TOOLS = ("ruff", "bandit")
BIN = "Scripts" if os.name == "nt" else "bin"
_ENV_TOOL_TIMEOUT_S = 20.0


class Environment:
    """Where checks find their programs. ``root``: the virtualenv (None: ``PATH`` only);
    ``python``: the project's interpreter; ``source``: how it was found; ``path``: the
    ``PATH`` checks get; ``variables``: what to set and unset in the checks' environment."""

    __slots__ = ("path", "python", "root", "source", "unset", "variables")

    def __init__(self, root: str | None, python: str | None, source: str, path: str,
                 variables: Mapping[str, str], unset: Sequence[str] = ()) -> None:
        self.root = root
        self.python = python
        self.source = source
        self.path = path
        self.variables = dict(variables)
        self.unset = tuple(unset)

    def apply(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` with this environment's ``PATH`` and variables."""
        out = {k: v for k, v in env.items() if k not in self.unset}
        out.update(self.variables)
        out["PATH"] = self.path
        return out

    def which(self, program: str) -> str | None:
        """The executable ``program`` names for a check; ``python``/``python3``: the project's
        interpreter."""
        if program in ("python", "python3") and self.python:
            return self.python
        if os.sep in program:
            return program if os.access(program, os.X_OK) else None
        return shutil.which(program, path=self.path)

    def describe(self, checks: Sequence[Check]) -> list[str]:
        """Lines for people: the interpreter, and the path of each check's program."""
        from ossa_hooks.judge.runner import command_argv
        from ossa_hooks.judge.runner import first_program

        where = f" ({self.root})" if self.root else ""
        lines = [f"environment: {self.source}{where}; python {self.python or 'not found'}"]
        tools = []
        for check in checks:
            argv, shell = command_argv(check.run)
            program = first_program(check.run) if shell else argv[0]
            if not program:
                continue
            if program == "ossa-hooks" and argv[1:2] in (["ruff"], ["bandit"]):
                program = f"ossa-hooks {argv[1]}"
                exe = self.which(argv[1]) or shutil.which(argv[1], path=os.path.dirname(
                    sys.executable))
            elif program == "ossa-hooks":
                exe = sys.executable + " -m ossa_hooks"
            else:
                exe = self.which(program)
            tools.append(f"{check.name}: {program} -> {exe or 'NOT FOUND'}")
        if tools:
            lines.append("tools: " + "; ".join(tools))
        return lines


def project_environment(repo: RepoPaths, environ: Mapping[str, str] | None = None) -> Environment:
    """The environment the checks of ``repo`` run in (see the module's docstring)."""
    env = os.environ if environ is None else environ
    own_prefix = os.path.realpath(own_virtualenv() or sys.prefix)
    under_pre_commit = env.get("PRE_COMMIT") == "1" or _is_pre_commit_env(own_prefix, env)
    # pre-commit puts its isolated environment first on PATH and in VIRTUAL_ENV: neither is
    # the project's.
    skip = {os.path.join(own_prefix, BIN)} if under_pre_commit else set()
    # The agents' git (an agent's PATH starts with it): the checks run with git itself, as
    # they do under a hook (git puts its own folder first on its hooks' PATH).
    skip.add(os.path.realpath(os.path.join(repo.state_dir_str, "bin")))
    path_dirs = [d for d in env.get("PATH", os.defpath).split(os.pathsep)
                 if d and os.path.realpath(d) not in skip]
    root, source = _find_root(repo, env, own_prefix, under_pre_commit)
    variables: dict[str, str] = {}
    unset = ["PYTHONHOME"]
    if root is not None:
        bindir = os.path.join(root, BIN)
        path_dirs = [bindir, *[d for d in path_dirs if os.path.realpath(d) !=
                               os.path.realpath(bindir)]]
        variables["VIRTUAL_ENV"] = root
    else:
        unset.append("VIRTUAL_ENV")
    fallback = _fallback_dir(repo, own_prefix)
    if fallback:
        path_dirs.append(fallback)
    path = os.pathsep.join(path_dirs)
    python = None
    if root is not None:
        python = _python_in(root)
    if python is None:
        python = shutil.which("python3", path=path) or shutil.which("python", path=path)
    return Environment(root, python, source, path, variables, unset)


def _find_root(repo: RepoPaths, env: Mapping[str, str], own_prefix: str,
               under_pre_commit: bool) -> tuple[str | None, str]:
    active = env.get("VIRTUAL_ENV")
    if active and _python_in(active) and not (
            under_pre_commit and os.path.realpath(active) == own_prefix):
        return active, "active virtualenv (VIRTUAL_ENV)"
    for top in _tops(repo):
        if os.path.exists(os.path.join(top, "uv.lock")) and env.get("UV_PROJECT_ENVIRONMENT"):
            chosen = os.path.join(top, env["UV_PROJECT_ENVIRONMENT"])
            if _python_in(chosen):
                return chosen, "uv (UV_PROJECT_ENVIRONMENT)"
        for name in (".venv", "venv"):
            candidate = os.path.join(top, name)
            if _python_in(candidate):
                return candidate, f"{name} in the repository"
        found = _ask_tool(top, env)
        if found:
            return found
    own = own_virtualenv()
    if own is not None and not under_pre_commit:
        return own, "the virtualenv ossa-hooks runs from"
    return None, "PATH (no virtualenv found)"


def own_virtualenv() -> str | None:
    """The virtualenv of the interpreter running ossa-hooks (the one the hook shim recorded),
    found by its ``pyvenv.cfg``: the shim starts Python with ``-S``, so ``sys.prefix`` does not
    tell."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
    return root if os.path.isfile(os.path.join(root, "pyvenv.cfg")) else None


def _tops(repo: RepoPaths) -> list[str]:
    """The worktree the judge runs for, then the main worktree (agent worktrees share its
    environment)."""
    tops = []
    if repo.toplevel_str is not None:
        tops.append(repo.toplevel_str)
    common = repo.common_dir_str
    if os.path.basename(common.rstrip(os.sep)) == ".git":
        main = os.path.dirname(common.rstrip(os.sep))
        if main not in tops:
            tops.append(main)
    return tops


def _ask_tool(top: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """poetry's or hatch's environment of the project at ``top``, asked of the tool."""
    asks = []
    if os.path.exists(os.path.join(top, "poetry.lock")):
        asks.append(("poetry", ["poetry", "env", "info", "--path"]))
    if os.path.exists(os.path.join(top, "hatch.toml")) or _pyproject_has(top, "[tool.hatch.envs"):
        asks.append(("hatch", ["hatch", "env", "find", "default"]))
    for name, argv in asks:
        exe = shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            continue
        try:
            proc = subprocess.run([exe, *argv[1:]], cwd=top, capture_output=True, text=True,
                                  timeout=_ENV_TOOL_TIMEOUT_S, check=False, env=dict(env))
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = proc.stdout.strip().splitlines()
        if proc.returncode == 0 and lines and _python_in(lines[-1].strip()):
            return lines[-1].strip(), f"{name} ({' '.join(argv)})"
    return None


def _pyproject_has(top: str, prefix: str) -> bool:
    try:
        with open(os.path.join(top, "pyproject.toml"), encoding="utf-8", errors="replace") as f:
            return any(line.strip().startswith(prefix) for line in f)
    except OSError:
        return False


def _python_in(root: str) -> str | None:
    for name in ("python", "python3"):
        candidate = os.path.join(root, BIN, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _is_pre_commit_env(prefix: str, env: Mapping[str, str]) -> bool:
    home = env.get("PRE_COMMIT_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pre-commit")
    return prefix.startswith(os.path.realpath(home) + os.sep)


def _fallback_dir(repo: RepoPaths, own_prefix: str) -> str | None:
    """A folder holding links to the ruff and bandit beside ossa-hooks (and nothing else), put
    last on the checks' PATH."""
    own_bin = os.path.dirname(sys.executable)
    present = [t for t in FALLBACK_TOOLS if os.access(os.path.join(own_bin, t), os.X_OK)]
    if not present:
        return None
    folder = os.path.join(repo.state_dir_str, "judge-tools")
    try:
        os.makedirs(folder, exist_ok=True)
        for tool in present:
            link = os.path.join(folder, tool)
            target = os.path.join(own_bin, tool)
            if os.path.islink(link) and os.readlink(link) == target:
                continue
            tmp = f"{link}.{os.getpid()}.tmp"
            os.symlink(target, tmp)
            os.replace(tmp, link)
    except OSError:
        return None
    return folder


# --- doctor ------------------------------------------------------------------------------------


def doctor_check(top: Path) -> list[Finding]:
    """Every enabled judge check's program resolves in the project's environment."""
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.doctor import Finding
    from ossa_hooks.errors import OssaError
    from ossa_hooks.judge.checks import configured_checks
    from ossa_hooks.judge.runner import command_argv
    from ossa_hooks.judge.runner import first_program
    from ossa_hooks.judge.runner import missing_note

    try:
        cfg = config_mod.load(top)
        repo = git.repo_paths(str(top))
    except OssaError as e:
        return [Finding("problem", str(top), e.message)]
    env = project_environment(repo)
    found = [Finding("ok", f"{top}: judge", f"environment: {env.source}; python {env.python}")]
    for check in configured_checks(cfg):
        where = f"{top}: judge.checks.{check.name}"
        argv, shell = command_argv(check.run)
        program = first_program(check.run) if shell else argv[0]
        if not program:
            found.append(Finding("note", where, f"a shell command, not checked: {check.run}"))
            continue
        if program == "ossa-hooks":
            found.append(Finding("ok", where, f"{program} (built in)"))
            continue
        exe = env.which(program)
        if exe is None:
            found.append(Finding("problem", where, missing_note(program)))
            continue
        module = _python_module(argv) if program in ("python", "python3") else None
        if module and env.python and subprocess.run(
                [env.python, "-c", f"import {module}"], capture_output=True,
                check=False).returncode != 0:
            found.append(Finding("problem", where, f"{env.python} has no module {module}: "
                                 f"install it into the project's environment "
                                 f"({env.python} -m pip install {module})"))
            continue
        found.append(Finding("ok", where, f"{program} -> {exe}"))
    return found


def _python_module(argv: Sequence[str]) -> str | None:
    if len(argv) >= 3 and argv[1] == "-m" and argv[2].replace("_", "").replace(".", "").isalnum():
        return argv[2]
    return None
