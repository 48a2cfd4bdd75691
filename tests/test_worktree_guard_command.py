"""An agent's git command line read as the agents' git reads it (ossa_hooks.worktree.
guard_command): the subcommand, whether it writes a worktree, and where a checkout or switch
takes HEAD, asked of a real repository with branches, a tag, a file, a remote-only branch and a
previous branch."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git
from hypothesis import given
from hypothesis import strategies as st

from ossa_hooks.worktree import guard_command
from ossa_hooks.worktree.guard_command import Refs
from ossa_hooks.worktree.guard_command import Target
from ossa_hooks.worktree.guard_command import parse


@pytest.mark.parametrize(("argv", "sub", "writes"), [
    (["status"], "status", False),
    (["-C", "x", "-c", "a.b=c", "--no-pager", "checkout", "-b", "n"], "checkout", True),
    (["--git-dir", "d", "--work-tree", "w", "reset", "--hard"], "reset", True),
    (["stash"], "stash", True),
    (["stash", "list"], "stash", False),
    (["stash", "-q", "show", "-p"], "stash", False),
    (["stash", "push", "-m", "x"], "stash", True),
    (["worktree", "list"], "worktree", False),
    (["worktree", "remove", "x"], "worktree", True),
    (["apply", "--check", "p.diff"], "apply", False),
    (["apply", "--stat", "--apply", "p.diff"], "apply", True),
    (["apply", "p.diff"], "apply", True),
    (["bisect", "log"], "bisect", False),
    (["bisect", "start"], "bisect", True),
    (["--version"], "", False),
])
def test_the_subcommand_and_whether_it_writes_a_worktree(argv: list[str], sub: str,
                                                        writes: bool) -> None:
    command = parse(argv)
    assert command.sub == sub
    assert guard_command.writes(command) is writes


@pytest.fixture
def refs_repo(committed_repo: Path) -> Path:
    """Branches, a tag, a file named like nothing else, a remote-only branch, a previous
    branch (``-``)."""
    repo = committed_repo
    (repo / "notes.txt").write_text("notes\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "notes")
    git(repo, "branch", "feature")
    git(repo, "tag", "v1", "HEAD~1")
    git(repo, "update-ref", "refs/remotes/origin/remote-only", "HEAD")
    git(repo, "switch", "-q", "feature")
    git(repo, "switch", "-q", "main")
    return repo


@pytest.mark.parametrize(("argv", "expected"), [
    ("checkout", Target("stay")),
    ("checkout feature", Target("branch", "feature")),
    ("checkout feature --", Target("branch", "feature")),
    ("checkout -", Target("branch", "feature")),
    ("checkout @{-1}", Target("branch", "feature")),
    ("checkout v1", Target("detach", "v1")),
    ("checkout HEAD", Target("stay")),
    ("checkout HEAD~1", Target("detach", "HEAD~1")),
    ("checkout --detach", Target("detach", "HEAD")),
    ("checkout --det feature", Target("detach", "feature")),
    ("checkout -b side", Target("new", "side")),
    ("checkout -qb side v1", Target("new", "side")),
    ("checkout -bside", Target("new", "side")),
    ("checkout --orphan=fresh", Target("new", "fresh")),
    ("checkout -B feature HEAD~1", Target("new", "feature")),
    ("checkout remote-only", Target("new", "remote-only")),
    ("checkout notes.txt", Target("stay")),
    ("checkout -- feature", Target("stay")),
    ("checkout feature -- notes.txt", Target("stay")),
    ("checkout HEAD~1 notes.txt", Target("stay")),
    ("checkout -p feature", Target("stay")),
    ("checkout --conflict merge feature", Target("branch", "feature")),
    ("switch feature", Target("branch", "feature")),
    ("switch -", Target("branch", "feature")),
    ("switch --detach v1", Target("detach", "v1")),
    ("switch -d HEAD~1", Target("detach", "HEAD~1")),
    ("switch -c side", Target("new", "side")),
    ("switch --create=side", Target("new", "side")),
    ("switch --force-create side v1", Target("new", "side")),
    ("switch remote-only", Target("new", "remote-only")),
    ("switch v1", Target("detach", "v1")),
    ("switch no-such-thing", Target("stay")),
])
def test_where_a_checkout_or_switch_takes_head(refs_repo: Path, argv: str,
                                              expected: Target) -> None:
    command = parse(argv.split())
    cwd = str(refs_repo)
    assert guard_command.target(command, Refs(command, cwd)) == expected


_GLOBALS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["-C", "-c", "--git-dir", "--work-tree", "--namespace"]),
              st.text(min_size=1, max_size=8)).map(list),
    st.sampled_from(["--no-pager", "-p", "--bare", "--git-dir=x", "--literal-pathspecs"]).map(
        lambda flag: [flag]),
), max_size=4).map(lambda groups: [w for g in groups for w in g])


@given(globals_=_GLOBALS, sub=st.sampled_from(["checkout", "switch", "status", "co", "stash"]),
       args=st.lists(st.text(max_size=6), max_size=4))
def test_git_options_never_hide_or_shift_the_subcommand(globals_: list[str], sub: str,
                                                      args: list[str]) -> None:
    """Round trip: however git's own options precede it (values that look like options or
    subcommands included), the subcommand and its arguments come back as they were given."""
    command = parse([*globals_, sub, *args])
    assert (command.globals, command.sub, command.args) == (globals_, sub, args)
