"""What the guard's hooks read from the git dirs without asking git
(ossa_hooks.worktree.guard_layout), checked against what git itself says, on real repositories:
HEADs, worktrees, a rebase in progress, refs loose and packed."""

from __future__ import annotations

from pathlib import Path

from conftest import git

from ossa_hooks.worktree.guard_layout import ZERO
from ossa_hooks.worktree.guard_layout import Layout
from ossa_hooks.worktree.guard_layout import in_sequence
from ossa_hooks.worktree.guard_layout import main_path
from ossa_hooks.worktree.guard_layout import read_head
from ossa_hooks.worktree.guard_layout import ref_value
from ossa_hooks.worktree.guard_layout import sequence_branch
from ossa_hooks.worktree.guard_layout import unchanged


def dirs(path: Path) -> tuple[str, str]:
    out = git(path, "rev-parse", "--path-format=absolute", "--git-common-dir",
              "--git-dir").stdout.splitlines()
    return out[0], out[1]


def test_heads_and_worktrees_as_git_reports_them(committed_repo: Path, tmp_path: Path) -> None:
    repo = committed_repo
    side = tmp_path / "side wt ø"
    git(repo, "worktree", "add", "-q", "-b", "agents/a/t", str(side))
    common, side_git = dirs(side)
    assert read_head(side_git) == ("agents/a/t", None)
    git(side, "checkout", "-q", "--detach")
    assert read_head(side_git) == (None, git(side, "rev-parse", "HEAD").stdout.strip())
    assert main_path(common) == str(repo.resolve())
    layout = Layout(common, str(side), side_git)
    assert [(t.path, t.main) for t in layout.trees] == [(str(repo.resolve()), True),
                                                        (str(side.resolve()), False)]
    assert layout.here.path == str(side.resolve())
    assert layout.holder("main") is layout.main()
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    assert main_path(str(bare)) is None


def test_a_rebase_in_progress_names_the_branch_it_will_put_back(committed_repo: Path) -> None:
    repo = committed_repo
    git(repo, "checkout", "-q", "-b", "topic")
    (repo / "README.md").write_text("topic\n")
    git(repo, "commit", "-qam", "topic")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    git(repo, "checkout", "-q", "topic")
    _, git_dir = dirs(repo)
    assert not in_sequence(git_dir)
    assert git(repo, "rebase", "main", check=False).returncode != 0  # a conflict stops it
    assert in_sequence(git_dir) and read_head(git_dir)[0] is None
    assert sequence_branch(git_dir) == "topic"
    git(repo, "rebase", "--abort")
    assert not in_sequence(git_dir) and sequence_branch(git_dir) is None


def test_ref_values_loose_and_packed_and_what_pack_refs_leaves_unchanged(
        committed_repo: Path) -> None:
    repo = committed_repo
    common, git_dir = dirs(repo)
    tip = git(repo, "rev-parse", "HEAD").stdout.strip()
    git(repo, "branch", "feature")
    assert ref_value(common, git_dir, "refs/heads/feature") == tip
    assert ref_value(common, git_dir, "HEAD") == tip  # through the symbolic ref
    git(repo, "pack-refs", "--all")
    assert not (Path(common) / "refs" / "heads" / "feature").exists()
    assert ref_value(common, git_dir, "refs/heads/feature") == tip
    # pack-refs' two steps: written at its value into packed-refs, then the loose copy deleted
    assert unchanged(common, git_dir, "refs/heads/feature", ZERO, tip)
    assert unchanged(common, git_dir, "refs/heads/feature", tip, ZERO)
    git(repo, "branch", "-D", "feature")
    assert ref_value(common, git_dir, "refs/heads/feature") is None
    assert not unchanged(common, git_dir, "refs/heads/feature", tip, ZERO)
    assert not unchanged(common, git_dir, "refs/heads/main", tip, "1" * 40)
