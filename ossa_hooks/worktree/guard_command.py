"""An agent's git command line, as the agents' git (:mod:`ossa_hooks.worktree.guard_git`) reads
it before git runs: the subcommand behind git's own options, whether it writes a worktree, and
where a checkout or switch would take HEAD (deciding, as git does, between a branch, ``-``, a new
branch, a commit and a path)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# git's own options that take the next word as their value.
_GLOBAL_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                           "--super-prefix", "--config-env"})

# Subcommands that write a worktree, its index or its HEAD; with the sub-subcommands or options
# that make them read-only.
WRITERS = frozenset({
    "add", "am", "apply", "bisect", "checkout", "checkout-index", "cherry-pick", "clean",
    "commit", "merge", "mv", "pull", "read-tree", "rebase", "reset", "restore", "revert", "rm",
    "sparse-checkout", "stash", "submodule", "switch", "update-index", "worktree",
})
_READ_ONLY_FORMS = {
    "stash": {"list", "show"},
    "bisect": {"log", "visualize", "view", "help"},
    "submodule": {"status", "summary"},
    "sparse-checkout": {"list"},
    "worktree": {"list", "add", "prune", "lock", "unlock", "repair"},
}
_APPLY_READ_ONLY = frozenset({"--check", "--stat", "--numstat", "--summary"})

# Options of checkout and switch: those that take a value, and the flags (for git's
# abbreviations of long options: ``--det`` is ``--detach``).
_SWITCH_VALUE_LONG = {
    "checkout": {"--orphan", "--conflict", "--pathspec-from-file"},
    "switch": {"--create", "--force-create", "--orphan", "--conflict"},
}
_SWITCH_VALUE_SHORT = {"checkout": {"b", "B"}, "switch": {"c", "C"}}
_SWITCH_FLAGS = {
    "checkout": {"--detach", "--force", "--merge", "--patch", "--quiet", "--progress",
                 "--no-progress", "--overlay", "--no-overlay", "--ours", "--theirs",
                 "--ignore-skip-worktree-bits", "--ignore-other-worktrees", "--track",
                 "--no-track", "--guess", "--no-guess", "--pathspec-file-nul",
                 "--recurse-submodules", "--no-recurse-submodules", "--overwrite-ignore",
                 "--no-overwrite-ignore"},
    "switch": {"--detach", "--force", "--discard-changes", "--merge", "--quiet", "--progress",
               "--no-progress", "--track", "--no-track", "--guess", "--no-guess",
               "--ignore-other-worktrees", "--recurse-submodules", "--no-recurse-submodules",
               "--overwrite-ignore", "--no-overwrite-ignore"},
}
_NEW_BRANCH = {"-b", "-B", "-c", "-C", "--orphan", "--create", "--force-create"}


class Command:
    """``git [GLOBAL...] SUB ARGS...`` split into its parts."""

    __slots__ = ("args", "globals", "sub")

    def __init__(self, globals_: Sequence[str], sub: str, args: Sequence[str]) -> None:
        self.globals = list(globals_)
        self.sub = sub
        self.args = list(args)

    def shown(self) -> str:
        import shlex

        return shlex.join(["git", self.sub, *self.args])


def parse(argv: Sequence[str]) -> Command:
    """Split a git command line; ``sub`` is "" when there is none (``git --version``)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in _GLOBAL_VALUE:
            i += 2
            continue
        if not word.startswith("-"):
            return Command(argv[:i], word, argv[i + 1:])
        i += 1
    return Command(argv, "", [])


def workdir(command: Command, cwd: str) -> str:
    """The folder git works from after the command's ``-C`` options."""
    here = cwd
    words = command.globals
    for i, word in enumerate(words[:-1]):
        if word == "-C" and words[i + 1]:
            here = os.path.join(here, words[i + 1])
    return here


def writes(command: Command) -> bool:
    """Does the command write a worktree, its index or its HEAD?"""
    if command.sub not in WRITERS:
        return False
    if command.sub == "apply":
        return "--apply" in command.args or not _APPLY_READ_ONLY & set(command.args)
    forms = _READ_ONLY_FORMS.get(command.sub)
    if forms is None:
        return True
    first = next((a for a in command.args if not a.startswith("-")), "")
    if command.sub == "stash" and not first:
        return "--help" not in command.args and "-h" not in command.args  # `git stash`: push
    return bool(first) and first not in forms


# --- where a checkout or switch takes HEAD ------------------------------------------------------


class Target:
    """Where HEAD goes: ``stay`` (a file checkout, or nothing to do), ``branch`` NAME (an
    existing branch), ``new`` NAME (a branch the command makes), ``detach`` REV."""

    __slots__ = ("kind", "name")

    def __init__(self, kind: str, name: str = "") -> None:
        self.kind = kind
        self.name = name

    def __repr__(self) -> str:
        return f"Target({self.kind!r}, {self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.kind, self.name) == (other.kind, other.name)

    def __hash__(self) -> int:
        return hash((self.kind, self.name))

    def shown(self) -> str:
        return {"branch": f"branch {self.name}", "new": f"a new branch {self.name}",
                "detach": f"a detached HEAD at {self.name}"}.get(self.kind, "where it is")


class Refs:
    """The questions about refs a target needs, asked of the real git (a test gives its own)."""

    def __init__(self, command: Command, cwd: str) -> None:
        self.command = command
        self.cwd = cwd

    def _git(self, *args: str) -> str | None:
        from ossa_hooks import git

        proc = git.call([*self.command.globals, *args], self.cwd, check=False)
        text = proc.stdout.decode("utf-8", "surrogateescape").strip()
        return text if proc.returncode == 0 and text else None

    def branch(self, name: str) -> bool:
        return self._git("rev-parse", "-q", "--verify", f"refs/heads/{name}") is not None

    def commit(self, name: str) -> bool:
        return self._git("rev-parse", "-q", "--verify", f"{name}^{{commit}}") is not None

    def previous(self, name: str) -> str | None:
        """The branch ``-`` or ``@{-N}`` names (None when it is a detached HEAD, or none)."""
        spec = "@{-1}" if name == "-" else name
        full = self._git("rev-parse", "--symbolic-full-name", spec)
        return full[len("refs/heads/"):] if full and full.startswith("refs/heads/") else None

    def stash_subjects(self) -> list[str]:
        """The stash's entries, newest first (``stash@{0}``, ``stash@{1}``, ...)."""
        found = self._git("stash", "list", "--format=%s")
        return found.splitlines() if found else []

    def remote_guess(self, name: str) -> bool:
        """Would git make a local branch ``name`` from a remote one of that name (``--guess``)?"""
        found = self._git("for-each-ref", "--format=%(refname)", f"refs/remotes/*/{name}")
        return found is not None and len(found.splitlines()) == 1


def _options(sub: str, args: Sequence[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """checkout/switch arguments as (options given, words before ``--``, words after it).
    An option's value is kept (a flag's is ""); long options are given by their full name."""
    value_long = _SWITCH_VALUE_LONG[sub]
    value_short = _SWITCH_VALUE_SHORT[sub]
    known = value_long | _SWITCH_FLAGS[sub]
    options: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            return options, words, list(args[i:])
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            matches = [k for k in known if k.startswith(name)]
            name = name if name in known or len(matches) != 1 else matches[0]
            if name in value_long and not eq and i < len(args):
                value = args[i]
                i += 1
            options[name] = value
        elif word.startswith("-") and len(word) > 1:
            for j, letter in enumerate(word[1:], start=1):
                if letter in value_short:
                    value = word[j + 1:]
                    if not value and i < len(args):
                        value = args[i]
                        i += 1
                    options["-" + letter] = value
                    break
                options["-" + letter] = ""
        else:
            words.append(word)
    return options, words, []


def target(command: Command, refs: Refs) -> Target:
    """Where ``git checkout``/``git switch`` would take HEAD (as git decides between a branch, a
    commit and a path)."""
    sub = command.sub
    options, words, paths = _options(sub, command.args)
    new = next((options[k] for k in options if k in _NEW_BRANCH), None)
    if new is not None:
        return Target("new", new)
    detach = "--detach" in options or (sub == "switch" and "-d" in options)
    first = words[0] if words else ""
    if sub == "checkout" and ("-p" in options or "--patch" in options
                              or "--pathspec-from-file" in options or paths
                              or len(words) > 1):
        return Target("stay")  # files from the index or a commit; HEAD stays
    if not first:
        return Target("detach", "HEAD") if detach else Target("stay")
    if not detach and (first == "-" or first.startswith("@{-")):
        previous = refs.previous(first)
        return Target("branch", previous) if previous else Target("detach", first)
    if not detach and refs.branch(first):
        return Target("branch", first)
    if refs.commit(first):
        if sub == "checkout" and not detach and first in ("HEAD", "@"):
            return Target("stay")
        return Target("detach", first)
    if not detach and refs.remote_guess(first):
        return Target("new", first)
    return Target("stay")  # a path (checkout), or a name git itself will refuse (switch)
