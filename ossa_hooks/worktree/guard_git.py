"""The guard for the git commands an agent runs: refused before git touches a file.

git runs no hook before a checkout, a switch, a reset, a clean or a fast-forward merge: when
``post-checkout`` or ``reference-transaction`` hears of them the files are written. So the agent
runner puts a ``git`` of ossa-hooks first on the agent's PATH (:func:`agent_environ`, the script
``hooks/git-wrapper.sh``). It hands a person's commands, an agent's commands that write no
worktree, its commands in another repository and its writing commands in its own worktree other
than checkout, switch, stash and worktree to the real git at once (it finds the repository with
shell built-ins); the others start :func:`main`, which applies these rules and then becomes the
real git (``execve``: same arguments, streams and exit status):

- ``foreign-worktree``: a command that writes a worktree, its index or its HEAD (checkout,
  switch, reset, restore, clean, stash, merge, pull, rebase, add, rm, mv, commit, ...) run in a
  worktree that is not the agent's own (``-C``, ``--work-tree`` and ``GIT_*`` included), or
  ``git worktree remove|move`` of such a worktree;
- ``leave-branch``: a checkout or switch in its own worktree to anything but its own branch
  (another branch, a new one, a detached commit);
- ``others-stash``: ``git stash drop|pop|clear`` of an entry made on another branch (git rewrites
  the stash's list before any hook runs).

File checkouts (``git checkout -- FILE``, ``git checkout REV -- FILE``, ``git restore``) in its own
worktree are the agent's business. The rules apply only where the guard is on (``ossa-guard`` in
the configuration's hooks). A git found some other way (an absolute path) still meets the hooks:
commits, ref updates and pushes are refused there, and a switch is reported after a snapshot.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks.worktree.guard_command import WRITERS
from ossa_hooks.worktree.guard_command import Command
from ossa_hooks.worktree.guard_command import Refs
from ossa_hooks.worktree.guard_command import parse
from ossa_hooks.worktree.guard_command import target
from ossa_hooks.worktree.guard_command import workdir
from ossa_hooks.worktree.guard_command import writes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import MutableMapping
    from collections.abc import Sequence

    from ossa_hooks.doctor import Finding
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.worktree.guard import Refusal
    from ossa_hooks.worktree.guard import Scope
    from ossa_hooks.worktree.guard_layout import Layout

REAL_GIT = "OSSA_REAL_GIT"
GUARD_REPO = "OSSA_GUARD_REPO"
GUARD_HOME = "OSSA_GUARD_HOME"
WRAPPER = "git-wrapper.sh"

# --- the rules ------------------------------------------------------------------------------


def check(scope: Scope, layout: Layout, command: Command, cwd: str,
          refs: Callable[[], Refs], git_dir: str = "") -> Refusal | None:
    """The first rule ``command`` breaks, run from ``cwd`` (after ``-C``) in ``layout.here``
    with ``git_dir`` (the command's, when ``GIT_DIR`` or ``--git-dir`` may have paired one
    worktree's git dir with another's files)."""
    from ossa_hooks.worktree.guard import Refusal

    here = layout.here
    who = scope.agent.describe()
    if not scope.worktree or scope.side_tree(here):
        return None
    if layout.tree_at(scope.worktree) is None:
        return None  # another repository (a clone, a test's scratch repository): not guarded
    if command.sub == "worktree":
        return _check_worktree(scope, layout, command, cwd)
    owner = _owner(layout, git_dir)
    if here.path != scope.worktree or owner not in ("", here.path):
        if not writes(command):
            return None
        where = (here.path if owner in ("", here.path)
                 else f"{here.path} with the git dir of {owner}")
        return Refusal("foreign-worktree", f"{who} running `{command.shown()}` in {where},"
                       " not in its own worktree (it would change that worktree's files)",
                       _go_home(scope), {"worktree": here.path})
    if command.sub == "stash" and scope.branch:
        return _check_stash(scope, command, refs())
    if command.sub not in ("checkout", "switch") or not scope.branch:
        return None
    goes = target(command, refs())
    if goes.kind == "stay" or (goes.kind in ("branch", "new") and goes.name == scope.branch):
        return None
    return Refusal("leave-branch", f"{who} switching its worktree from {scope.branch} to"
                   f" {goes.shown()}", f"stay on {scope.branch}: read other commits with"
                   " `git show`/`git log`, make a branch without switching with `git branch"
                   " NAME`", {"worktree": here.path, "target": goes.name})


def _check_stash(scope: Scope, command: Command, refs: Refs) -> Refusal | None:
    """``git stash drop|pop|clear`` of entries made on another branch (the stash is shared by
    every worktree; git rewrites its reflog before any hook could refuse)."""
    from ossa_hooks.worktree.guard import others_stash
    from ossa_hooks.worktree.guard import subject_branch

    words = [a for a in command.args if not a.startswith("-")]
    if not words or words[0] not in ("drop", "pop", "clear"):
        return None
    subjects = refs.stash_subjects()
    if words[0] == "clear":
        taken = list(range(len(subjects)))
    else:
        entry = words[1] if len(words) > 1 else "0"
        number = entry[len("stash@{"):-1] if entry.startswith("stash@{") and entry.endswith(
            "}") else entry
        if not number.isdigit() or int(number) >= len(subjects):
            return None  # no such entry (git says so), or a commit named another way
        taken = [int(number)]
    for n in taken:
        made_on = subject_branch(subjects[n])
        if made_on is not None and made_on != scope.branch:
            return others_stash(scope, made_on, f"stash@{{{n}}}")
    return None


def _owner(layout: Layout, git_dir: str) -> str:
    """The folder of the worktree ``git_dir`` belongs to ("" when unknown or not given)."""
    if not git_dir:
        return ""
    from ossa_hooks.worktree.guard_layout import real

    target = real(git_dir)
    tree = next((t for t in layout.trees if real(t.git_dir) == target), None)
    return tree.path if tree is not None else ""


def _go_home(scope: Scope) -> str:
    return f"cd {scope.worktree} and work on {scope.branch or 'your branch'} there"


def _check_worktree(scope: Scope, layout: Layout, command: Command, cwd: str
                    ) -> Refusal | None:
    """``git worktree remove|move PATH``: only its own worktree, or a side tree of it."""
    from ossa_hooks.worktree.guard import Refusal

    words = [a for a in command.args if not a.startswith("-")]
    if len(words) < 2 or words[0] not in ("remove", "move"):
        return None
    tree = layout.tree_at(os.path.join(cwd, words[1]))
    if tree is None or tree.path == scope.worktree or scope.side_tree(tree):
        return None
    return Refusal("foreign-worktree", f"{scope.agent.describe()} running `{command.shown()}`"
                   f" on {tree.path}, not its own worktree",
                   "leave other worktrees to their owners (`ossa-hooks worktree cleanup`"
                   " removes merged ones)", {"worktree": tree.path})


# --- the process ----------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    """Check an agent's git command, then become the real git (or refuse: one line, exit 1)."""
    start = time.perf_counter()
    environ = dict(os.environ)
    # This process's own git questions go to the real git too (git.executable reads it).
    real = os.environ.setdefault(REAL_GIT, "/usr/bin/git")
    try:
        refusal = _decide(argv, start)
    except Exception as e:  # noqa: BLE001 - a guard that cannot decide says why, never a traceback
        from ossa_hooks.errors import OssaError

        text = e.message if isinstance(e, OssaError) else f"{type(e).__name__}: {e}"
        print(f"ossa-hooks: guard: could not check `git {' '.join(argv[:3])}`: {text}",
              file=sys.stderr)
        return 2
    if refusal is not None:
        print(refusal.line(), file=sys.stderr)
        return 1
    try:
        os.execve(real, [real, *argv], environ)  # noqa: S606 - becomes git, arguments as given
    except OSError as e:
        print(f"ossa-hooks: guard: cannot run the real git {real}: {e.strerror}",
              file=sys.stderr)
    return 127


def _decide(argv: Sequence[str], start: float) -> Refusal | None:
    from ossa_hooks import identity

    agent = identity.current()
    if agent is None:
        return None
    origin = os.getcwd()
    command = expand_alias(parse(argv), origin)
    if command.sub not in WRITERS:
        return None
    repo = _where(command, origin)
    if repo is None or repo.toplevel_str is None:
        return None  # not in a repository, or a bare one: git says what it says
    from ossa_hooks import config as config_mod

    config = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    hooks = config.get("hooks") or {}
    if not any("ossa-guard" in (actions or ()) for actions in hooks.values()):
        return None  # the guard is off in this repository
    from ossa_hooks.worktree.guard import scope_of
    from ossa_hooks.worktree.guard_layout import Layout

    layout = Layout(repo.common_dir_str, repo.toplevel_str, repo.git_dir_str)
    scope = scope_of(agent, layout, config)
    refusal = check(scope, layout, command, workdir(command, origin),
                    lambda: Refs(command, origin), repo.git_dir_str)
    if refusal is not None:
        from ossa_hooks.worktree.guard_hook import audit_refusal

        refusal.detail["command"] = command.shown()
        audit_refusal(repo, "git", agent, refusal, "refused", start)
    return refusal


def expand_alias(command: Command, cwd: str) -> Command:
    """``git co X`` with ``alias.co = checkout`` is ``git checkout X`` (a ``!shell`` alias runs
    its own git commands, through this wrapper again)."""
    from ossa_hooks import git

    seen: set[str] = set()
    while command.sub and command.sub not in WRITERS and command.sub not in seen:
        seen.add(command.sub)
        proc = git.call([*command.globals, "config", "--get", f"alias.{command.sub}"], cwd,
                        check=False)
        value = proc.stdout.decode("utf-8", "surrogateescape").strip()
        if proc.returncode != 0 or not value or value.startswith("!"):
            return command
        import shlex

        try:
            words = shlex.split(value)
        except ValueError:
            return command
        command = parse([*command.globals, *words, *command.args])
    return command


def _where(command: Command, cwd: str) -> RepoPaths | None:
    """The repository and worktree the command acts on (its ``-C``, ``--git-dir``,
    ``--work-tree`` and the environment's ``GIT_DIR`` and ``GIT_WORK_TREE`` included)."""
    from ossa_hooks import git

    proc = git.call([*command.globals, "rev-parse", "--path-format=absolute", "--git-dir",
                     "--git-common-dir", "--show-toplevel"], cwd, check=False)
    lines = os.fsdecode(proc.stdout).splitlines()
    if len(lines) < 2:
        return None
    return git.RepoPaths(lines[2] if len(lines) > 2 else None, lines[0], lines[1],
                         len(lines) == 2)


# --- putting it on an agent's PATH --------------------------------------------------------------


def agent_environ(repo: RepoPaths, env: MutableMapping[str, str]) -> None:
    """Put the wrapper first on the PATH of an agent's environment ``env`` (written, with the
    real git it runs, into the repository's ossa-hooks folder). No git on PATH: nothing to do."""
    import shutil

    folder = os.path.join(repo.state_dir_str, "bin")
    mine = os.path.realpath(folder)
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep)
            if p and os.path.realpath(p) != mine]
    real = env.get(REAL_GIT) or shutil.which("git", path=os.pathsep.join(path))
    if not real:
        return
    real = os.path.abspath(real)
    try:
        write_wrapper(folder, real)
    except OSError as e:  # a full disk, a read-only .git: no agent runs unguarded
        from ossa_hooks.errors import OssaError

        raise OssaError(f"cannot write the agents' git {os.path.join(folder, 'git')}:"
                        f" {e.strerror or e}; the agent was not started", code=1) from None
    env["PATH"] = os.pathsep.join([folder, *path])
    env[REAL_GIT] = real
    # For the script's own answer, without the interpreter, to "which repository, and is it
    # the agent's own worktree?" (physical paths, as it finds them).
    env[GUARD_REPO] = os.path.realpath(repo.common_dir_str)
    home = env.get("OSSA_WORKTREE", "")
    env[GUARD_HOME] = os.path.realpath(home) if home else ""


def render(real: str, python: str) -> str:
    import shlex

    from ossa_hooks.resources import data_dir

    text = (data_dir("hooks") / WRAPPER).read_text(encoding="utf-8")
    return text.replace("@REAL_GIT@", shlex.quote(real)).replace("@PYTHON@",
                                                                 shlex.quote(python))


def write_wrapper(folder: str, real: str) -> str:
    """``FOLDER/git`` as :func:`render` gives it, replaced atomically when it differs."""
    text = render(real, sys.executable)
    target = os.path.join(folder, "git")
    try:
        with open(target, encoding="utf-8") as f:
            if f.read() == text and os.access(target, os.X_OK):
                return target
    except OSError:
        pass
    import tempfile

    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".git.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(temp, 0o755)  # noqa: S103 - a program every user of the repository runs
    os.replace(temp, target)
    return target


# --- doctor -------------------------------------------------------------------------------------


def _recorded(text: str) -> tuple[str, str]:
    """(real git, interpreter) a written wrapper runs, read back from its text."""
    import shlex

    real = python = ""
    for line in text.splitlines():
        if line.startswith("OSSA_REAL_GIT=${OSSA_REAL_GIT:-") and line.endswith("}"):
            real = " ".join(shlex.split(line[len("OSSA_REAL_GIT=${OSSA_REAL_GIT:-"):-1]))
        elif line.startswith("if [ ! -x ") and line.endswith(" ]; then"):
            python = " ".join(shlex.split(line[len("if [ ! -x "):-len(" ]; then")]))
    return real, python


def doctor_check(repo: RepoPaths) -> list[Finding]:
    """The agents' git, once the runner has written it: does what it runs still exist?"""
    from ossa_hooks.doctor import Finding

    target = os.path.join(repo.state_dir_str, "bin", "git")
    try:
        with open(target, encoding="utf-8") as f:
            real, python = _recorded(f.read())
    except OSError:
        return []  # no agent has run here yet
    gone = [p for p in (python, real) if not p or not os.access(p, os.X_OK)]
    if gone:
        return [Finding("problem", target, f"the agents' git runs {' and '.join(gone) or '?'},"
                        " which is gone: an agent's checked git commands are refused",
                        "ossa-hooks doctor --fix")]
    return [Finding("ok", target, f"the agents' git (runs {real}, checks with {python})")]


def doctor_fix(repo: RepoPaths) -> list[str]:
    """Write the agents' git again, with this interpreter and the git on PATH."""
    import shutil

    found = doctor_check(repo)
    if not found or found[0].status == "ok":
        return []
    real = shutil.which("git")
    if real is None:
        return []
    return [f"rewrote {write_wrapper(os.path.join(repo.state_dir_str, 'bin'), real)}"
            f" (runs {real}, checks with {sys.executable})"]
