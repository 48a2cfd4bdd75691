"""The repository as a guard hook sees it: its worktrees, their HEADs and the refs' values, read
from the files under the git dirs (no git command: hooks run on every ref update).

The rules are in :mod:`ossa_hooks.worktree.guard`.
"""

from __future__ import annotations

import os

ZERO = "0" * 40
HEADS = "refs/heads/"

# Files in a worktree's git dir that mean git is in the middle of an operation that moves a
# detached HEAD on the worktree's behalf (and puts the branch back at the end).
_SEQUENCES = ("rebase-merge", "rebase-apply", "BISECT_LOG", "CHERRY_PICK_HEAD", "REVERT_HEAD")


class Tree:
    """One worktree: its folder (real path), its git dir, and the branch its HEAD names."""

    __slots__ = ("branch", "git_dir", "head", "main", "path")

    def __init__(self, path: str, git_dir: str, main: bool) -> None:
        self.path = path
        self.git_dir = git_dir
        self.main = main
        self.branch, self.head = read_head(git_dir)


def read_head(git_dir: str) -> tuple[str | None, str | None]:
    """(branch, commit) of a worktree's HEAD file: the branch's short name when HEAD is a
    symbolic ref, else the detached commit."""
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8",
                  errors="surrogateescape") as f:
            text = f.read(4096).strip()
    except OSError:
        return None, None
    if text.startswith("ref: "):
        ref = text[5:].strip()
        return (ref[len(HEADS):] if ref.startswith(HEADS) else ref), None
    return None, text or None


def real(path: str) -> str:
    return os.path.realpath(path) if path else ""


class Layout:
    """The worktrees of one repository, read from its common dir (no git command)."""

    __slots__ = ("common_dir", "here", "trees")

    def __init__(self, common_dir: str, here: str | None, here_git_dir: str) -> None:
        self.common_dir = common_dir
        self.trees: list[Tree] = []
        main = main_path(common_dir)
        if main is not None:
            self.trees.append(Tree(main, common_dir, True))
        admin = os.path.join(common_dir, "worktrees")
        try:
            names = sorted(os.listdir(admin))
        except OSError:
            names = []
        for name in names:
            git_dir = os.path.join(admin, name)
            try:
                with open(os.path.join(git_dir, "gitdir"), encoding="utf-8",
                          errors="surrogateescape") as f:
                    dot_git = f.read().strip()
            except OSError:
                continue
            self.trees.append(Tree(real(os.path.dirname(dot_git)), git_dir, False))
        here_real = real(here) if here else ""
        found = next((t for t in self.trees if t.path == here_real), None)
        if found is None:  # a layout this reader does not know: the hook's own git dir
            found = Tree(here_real, here_git_dir, False)
            self.trees.append(found)
        self.here = found

    def holder(self, branch: str) -> Tree | None:
        """The worktree that has ``branch`` checked out, if any."""
        return next((t for t in self.trees if t.branch == branch), None)

    def main(self) -> Tree | None:
        return next((t for t in self.trees if t.main), None)

    def tree_at(self, path: str) -> Tree | None:
        target = real(path)
        return next((t for t in self.trees if t.path == target), None)


def main_path(common_dir: str) -> str | None:
    """The main worktree's folder: the parent of a ``.git`` common dir (None when bare)."""
    if os.path.basename(os.path.normpath(common_dir)) != ".git":
        return None
    return real(os.path.dirname(os.path.normpath(common_dir)))


def in_sequence(git_dir: str) -> bool:
    """True while a rebase, bisect, cherry-pick or revert runs in the worktree."""
    return any(os.path.exists(os.path.join(git_dir, name)) for name in _SEQUENCES)


def sequence_branch(git_dir: str) -> str | None:
    """The branch a rebase in progress will put back (``head-name``), if any."""
    for d in ("rebase-merge", "rebase-apply"):
        try:
            with open(os.path.join(git_dir, d, "head-name"), encoding="utf-8") as f:
                name = f.read().strip()
        except OSError:
            continue
        return name[len(HEADS):] if name.startswith(HEADS) else name
    return None


def unchanged(common_dir: str, git_dir: str, ref: str, old: str, new: str) -> bool:
    """Does this update leave ``ref``'s value as it is? ``git pack-refs`` writes every ref
    into ``packed-refs`` (old unknown, new = its value), then deletes each loose copy (new =
    zero) while the packed copy keeps the value; a real deletion rewrites ``packed-refs``
    (its pending ``.lock`` no longer has the ref) or finds no packed copy."""
    if new != ZERO and old in ("", ZERO):
        return ref_value(common_dir, git_dir, ref) == new
    if new == ZERO and old not in ("", ZERO):
        lock = os.path.join(common_dir, "packed-refs.lock")
        source = lock if os.path.exists(lock) else os.path.join(common_dir, "packed-refs")
        return packed_value(source, ref) == old
    return False


def packed_value(path: str, ref: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                sha, _, name = line.rstrip("\n").partition(" ")
                if name == ref:
                    return sha
    except OSError:
        pass
    return None


def ref_value(common_dir: str, git_dir: str, ref: str) -> str | None:
    """The commit ``ref`` names now, read from the loose ref file or ``packed-refs``."""
    base = git_dir if ref == "HEAD" or "/" not in ref else common_dir
    try:
        with open(os.path.join(base, ref), encoding="ascii", errors="replace") as f:
            value = f.read(200).strip()
        if not value.startswith("ref: "):
            return value
        return ref_value(common_dir, git_dir, value[5:].strip())
    except (OSError, RecursionError):
        pass
    return packed_value(os.path.join(common_dir, "packed-refs"), ref)
