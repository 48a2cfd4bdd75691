"""backup restore on real repositories: into the current worktree, into a new one, byte for
byte (a property test)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from conftest import git
from conftest import ossa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from test_backup_snapshot import digest
from test_backup_snapshot import out
from test_backup_snapshot import snap
from test_backup_snapshot import state
from test_backup_snapshot import temp_leftovers

from ossa_hooks.backup import restore as restore_mod
from ossa_hooks.git import repo_paths

# --- restore --------------------------------------------------------------------------------


def test_restore_into_the_current_worktree(committed_repo: Path) -> None:
    repo = committed_repo
    (repo / "keep.sh").write_text("#!/bin/sh\n")
    git(repo, "add", "keep.sh")
    git(repo, "commit", "-q", "-m", "sh")
    (repo / "README.md").write_text("lost work\n")
    (repo / "keep.sh").chmod(0o755)
    (repo / "new" / "sub").mkdir(parents=True)
    (repo / "new" / "sub" / "file.txt").write_text("new file\n")
    os.symlink("README.md", repo / "link")
    name = snap(repo)
    assert name
    git(repo, "reset", "-q", "--hard")
    git(repo, "clean", "-qfd")
    proc = ossa(repo, "backup", "restore", name)
    assert proc.returncode == 0, proc.stderr
    assert "restored 4 files" in proc.stdout
    assert (repo / "README.md").read_text() == "lost work\n"
    assert os.access(repo / "keep.sh", os.X_OK)
    assert (repo / "new" / "sub" / "file.txt").read_text() == "new file\n"
    assert os.readlink(repo / "link") == "README.md"
    # The index was not changed: the content is back as uncommitted work.
    assert git(repo, "diff", "--cached", "--name-only").stdout == ""
    assert temp_leftovers(repo / ".git") == []


def test_restore_refuses_to_overwrite_uncommitted_work(committed_repo: Path) -> None:
    repo = committed_repo
    (repo / "README.md").write_text("snapshot version\n")
    (repo / "a.txt").write_text("a\n")
    name = snap(repo)
    assert name
    (repo / "README.md").write_text("newer uncommitted work\n")
    (repo / "a.txt").write_text("a\n")  # the same as in the snapshot: no conflict
    proc = ossa(repo, "backup", "restore", name)
    assert proc.returncode == 1
    assert "would overwrite uncommitted changes in: README.md." in proc.stderr
    assert "a.txt" not in proc.stderr
    assert "--into" in proc.stderr
    assert (repo / "README.md").read_text() == "newer uncommitted work\n"


def test_restore_deletes_what_the_snapshot_deleted(committed_repo: Path) -> None:
    (committed_repo / "README.md").unlink()
    name = snap(committed_repo)
    git(committed_repo, "checkout", "--", "README.md")
    restore_mod.restore(repo_paths(committed_repo), name or "")
    assert not (committed_repo / "README.md").exists()


def test_restore_into_a_new_worktree(committed_repo: Path, tmp_path: Path) -> None:
    repo = committed_repo
    (repo / "README.md").write_text("work\n")
    (repo / "u.txt").write_text("untracked\n")
    name = snap(repo)
    assert name
    target = tmp_path / "restored here"
    proc = ossa(repo, "backup", "restore", name, "--into", str(target))
    assert proc.returncode == 0, proc.stderr
    assert (target / "README.md").read_text() == "work\n"
    # Uncommitted changes on the snapshot's base commit.
    assert out(target, "rev-parse", "HEAD") == out(repo, "rev-parse", "HEAD")
    assert git(target, "status", "--porcelain").stdout.splitlines() == [" M README.md",
                                                                         "?? u.txt"]
    proc = ossa(repo, "backup", "restore", name, "--into", str(target))
    assert proc.returncode == 2 and "not empty" in proc.stderr


def test_restore_of_an_unknown_name(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "backup", "restore", "auto-save-nope")
    assert proc.returncode == 2
    assert "no snapshot named auto-save-nope" in proc.stderr


# --- the property: snapshot then restore is the identity ------------------------------------

NAME_CHARS = st.sampled_from([*"abcXYZ019_-. ", "\n", "é", "ø", "日", "ß"])
NAMES = st.text(NAME_CHARS, min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..") and not n.startswith(".git") and not n.endswith(".ign")
)
PATHS = st.lists(NAMES, min_size=1, max_size=3).map(tuple)
CONTENT = st.one_of(
    st.just(b""),
    st.text(max_size=60).map(lambda t: t.encode("utf-8")),
    st.binary(max_size=200),
)
ENTRY = st.tuples(CONTENT, st.booleans(), st.booleans())  # content, executable, symlink


Entry = tuple[bytes, bool, bool]


def _usable(prefix: str, items: list[tuple[tuple[str, ...], Entry]],
            taken: list[tuple[str, ...]]) -> list[tuple[tuple[str, ...], Entry]]:
    """Prefixed paths, without those that clash as file and folder with another."""
    chosen: list[tuple[tuple[str, ...], Entry]] = []
    for p, entry in items:
        p = (prefix, *p)
        if not any(p[: len(q)] == q or q[: len(p)] == p for q in [*taken, *(c[0] for c in chosen)]):
            chosen.append((p, entry))
    return chosen


def _write(root: Path, parts: tuple[str, ...], entry: tuple[bytes, bool, bool]) -> None:
    target = root.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    content, executable, link = entry
    if link:
        os.symlink(content.decode("utf-8", "replace").replace("\0", "") or "nowhere", target)
        return
    target.write_bytes(content)
    target.chmod(0o755 if executable else 0o644)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    base=st.lists(st.tuples(PATHS, ENTRY), min_size=1, max_size=8),
    changes=st.lists(
        st.tuples(st.sampled_from(["modify", "delete", "stage-delete", "rename",
                                   "stage-then-modify", "chmod"]), st.integers(0, 7), ENTRY),
        max_size=6,
    ),
    untracked=st.lists(st.tuples(PATHS, ENTRY), max_size=5),
    ignored=st.booleans(),
)
def test_snapshot_then_restore_is_byte_identical(
    base: list[tuple[tuple[str, ...], tuple[bytes, bool, bool]]],
    changes: list[tuple[str, int, tuple[bytes, bool, bool]]],
    untracked: list[tuple[tuple[str, ...], tuple[bytes, bool, bool]]],
    ignored: bool,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ørig repo"
        root.mkdir()
        git(root, "init", "-q")
        (root / ".gitignore").write_text("*.ign\n")
        tracked = _usable("tracked", base, [])
        for parts, entry in tracked:
            _write(root, parts, entry)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "base")
        live = [p for p, _ in tracked]
        for action, index, entry in changes:
            if not live:
                break
            parts = live[index % len(live)]
            rel = "/".join(parts)
            if action == "modify":
                _write(root, parts, entry)
            elif action == "delete":
                root.joinpath(*parts).unlink()
                live.remove(parts)
            elif action == "stage-delete":
                git(root, "rm", "-q", "-f", "--", rel)
                live.remove(parts)
            elif action == "rename":
                new = ("renamed", *parts)
                if any(q[: len(new)] == new or new[: len(q)] == q for q in live):
                    continue
                root.joinpath(*new).parent.mkdir(parents=True, exist_ok=True)
                git(root, "mv", "--", rel, "/".join(new))
                live[live.index(parts)] = new
            elif action == "stage-then-modify":
                _write(root, parts, entry)
                git(root, "add", "--", rel)
                _write(root, parts, (entry[0] + b"+more", entry[1], entry[2]))
            elif action == "chmod" and not root.joinpath(*parts).is_symlink():
                mode = root.joinpath(*parts).stat().st_mode
                root.joinpath(*parts).chmod(mode ^ 0o111)
        for parts, entry in _usable("new", untracked, live):
            _write(root, parts, entry)
        if ignored:
            (root / "secret.ign").write_text("never saved\n")
        index_before = digest(root / ".git" / "index")
        tree_before = state(root)

        name = snap(root)

        assert digest(root / ".git" / "index") == index_before
        assert state(root) == tree_before
        assert temp_leftovers(root / ".git") == []
        if name is None:  # nothing changed since the commit
            assert git(root, "status", "--porcelain").stdout == ""
            return
        target = Path(tmp) / "restored"
        restore_mod.restore(repo_paths(root), name, into=target)
        assert state(target) == tree_before
        assert not (target / "secret.ign").exists()




def test_restore_never_deletes_through_a_symlinked_folder(committed_repo: Path,
                                                          tmp_path: Path) -> None:
    (committed_repo / "data").mkdir()
    (committed_repo / "data" / "keep.txt").write_text("in the repository\n")
    git(committed_repo, "add", "data")
    git(committed_repo, "commit", "-q", "-m", "data")
    (committed_repo / "data" / "keep.txt").unlink()
    name = snap(committed_repo)  # deletes data/keep.txt
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the repository's\n")
    git(committed_repo, "rm", "-q", "-r", "--ignore-unmatch", "data")
    (committed_repo / "data").symlink_to(outside)
    git(committed_repo, "add", "data")
    git(committed_repo, "commit", "-q", "-m", "data is now a symlink")
    restore_mod.restore(repo_paths(committed_repo), name or "")
    assert (outside / "keep.txt").read_text() == "not the repository's\n"
