"""Snapshots of uncommitted work, their restore, prune, push and conflict parking, on real
repositories."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks import config as config_mod
from ossa_hooks.backup import snapshot as backup
from ossa_hooks.errors import OssaError
from ossa_hooks.git import repo_paths

# --- helpers --------------------------------------------------------------------------------


def out(path: Path, *args: str) -> str:
    return git(path, *args).stdout.strip()


def snap(path: Path, hook: str = "test", message: str | None = None) -> str | None:
    return backup.snapshot(repo_paths(path), hook=hook, message=message,
                           config=config_mod.Config(config_mod.defaults()))


def backup_refs(path: Path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)",
              "refs/heads/backup/").stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def files_of(path: Path, commit: str) -> dict[str, str]:
    out = git(path, "ls-tree", "-r", "-z", "--full-tree", commit).stdout
    result = {}
    for entry in out.split("\0"):
        if entry:
            meta, name = entry.split("\t", 1)
            result[name] = meta.split()[0]
    return result


def show_file(path: Path, commit: str, name: str) -> bytes:
    return git(path, "cat-file", "blob", f"{commit}:{name}", input=b"").stdout


def state(root: Path, skip_suffix: str = ".ign") -> dict[str, tuple[str, bytes, bool]]:
    """Every file below ``root`` (not .git, not ignored ``*.ign``): kind, content, exec bit."""
    found: dict[str, tuple[str, bytes, bool]] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root)
            if name == ".git" or rel.endswith(skip_suffix):
                continue
            if os.path.islink(full):
                found[rel] = ("link", os.fsencode(os.readlink(full)), False)
            else:
                with open(full, "rb") as f:
                    data = f.read()
                found[rel] = ("file", data, bool(os.stat(full).st_mode & stat.S_IXUSR))
    return found


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_hooks(path: Path) -> None:
    proc = ossa(path, "install")
    assert proc.returncode == 0, proc.stderr
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "install ossa-hooks")


def temp_leftovers(git_dir: Path) -> list[str]:
    return sorted(p.name for p in git_dir.iterdir() if p.name.startswith(backup.TMP_PREFIX))


# --- the snapshot ---------------------------------------------------------------------------


def test_a_clean_tree_makes_no_snapshot(committed_repo: Path) -> None:
    assert snap(committed_repo) is None
    assert backup_refs(committed_repo) == {}


def base_repo(repo: Path) -> Path:
    """``repo`` with a committed .gitignore (``*.log``), a.txt and a force-added kept.log."""
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "a.txt").write_text("a\n")
    (repo / "kept.log").write_text("kept\n")
    git(repo, "add", "-f", ".gitignore", "a.txt", "kept.log")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def differ(repo: Path, how: str) -> None:
    """Make ``base_repo``'s tree differ from HEAD (or seem to) in the way named ``how``."""
    a = repo / "a.txt"
    if how == "modified":
        a.write_text("changed\n")
    elif how == "deleted":
        a.unlink()
    elif how == "staged only":
        a.write_text("staged\n")
        git(repo, "add", "a.txt")
    elif how == "untracked":
        (repo / "new.txt").write_text("new\n")
    elif how == "untracked deep":
        (repo / "d" / "e").mkdir(parents=True)
        (repo / "d" / "e" / "f.txt").write_text("deep\n")
    elif how == "tracked but ignored":
        (repo / "kept.log").write_text("changed\n")
    elif how == "mode":
        a.chmod(0o755)
    elif how == "ignored only":
        (repo / "x.log").write_text("ignored\n")
    elif how == "empty folders only":
        (repo / "empty" / "inner").mkdir(parents=True)
    elif how == "rewritten, same bytes":
        time.sleep(0.01)
        a.write_text("a\n")
        os.utime(a, (time.time() + 5, time.time() + 5))
    elif how == "staged then reverted":
        a.write_text("staged\n")
        git(repo, "add", "a.txt")
        a.write_text("a\n")
    else:  # pragma: no cover - a typo in the table below
        raise AssertionError(how)


@pytest.mark.parametrize(("how", "saved"), [
    ("modified", True), ("deleted", True), ("staged only", True), ("untracked", True),
    ("untracked deep", True), ("tracked but ignored", True), ("mode", True),
    ("ignored only", False), ("empty folders only", False), ("rewritten, same bytes", False),
    ("staged then reverted", False),
])
def test_a_snapshot_exactly_when_the_tree_differs_from_head(committed_repo: Path, how: str,
                                                            saved: bool) -> None:
    repo = base_repo(committed_repo)
    differ(repo, how)
    index_before = digest(repo / ".git" / "index")

    name = snap(repo)

    assert (name is not None) == saved
    if name is not None:
        assert out(repo, "rev-parse", f"{name}^{{tree}}") != out(repo, "rev-parse", "HEAD^{tree}")
    assert digest(repo / ".git" / "index") == index_before
    assert temp_leftovers(repo / ".git") == []


def test_a_snapshot_holds_the_whole_worktree_and_touches_nothing(committed_repo: Path) -> None:
    repo = committed_repo
    (repo / ".gitignore").write_text(".env\n")
    (repo / "tracked.txt").write_text("one\n")
    (repo / "gone.txt").write_text("bye\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")
    (repo / "tracked.txt").write_text("staged\n")
    git(repo, "add", "tracked.txt")
    (repo / "tracked.txt").write_text("staged then modified\n")
    (repo / "gone.txt").unlink()
    (repo / "new dir" / "deeper").mkdir(parents=True)
    (repo / "new dir" / "deeper" / "ünïcode file.txt").write_text("untracked\n")
    (repo / ".env").write_text("SECRET=1\n")
    index_before = digest(repo / ".git" / "index")
    status_before = git(repo, "status", "--porcelain", "-z").stdout
    head_before = out(repo, "rev-parse", "HEAD")

    name = snap(repo)

    assert name is not None and name.startswith("backup/auto-save-")
    commit = backup_refs(repo)[name]
    files = files_of(repo, commit)
    assert "gone.txt" not in files
    assert ".env" not in files
    assert show_file(repo, commit, "tracked.txt") == b"staged then modified\n"
    assert show_file(repo, commit, "new dir/deeper/ünïcode file.txt") == b"untracked\n"
    assert out(repo, "rev-parse", f"{commit}^") == head_before
    # The user's index is byte-identical, the worktree and HEAD are as they were.
    assert digest(repo / ".git" / "index") == index_before
    assert git(repo, "status", "--porcelain", "-z").stdout == status_before
    assert out(repo, "rev-parse", "HEAD") == head_before
    assert temp_leftovers(repo / ".git") == []


def test_the_message_says_where_it_came_from(committed_repo: Path) -> None:
    (committed_repo / "x").write_text("x\n")
    name = snap(committed_repo, hook="post-checkout")
    body = git(committed_repo, "log", "-1", "--format=%B", name).stdout
    assert f"Worktree: {committed_repo}" in body
    assert "Branch: main" in body
    assert "Hook: post-checkout" in body
    assert "Time: " in body
    s = backup.resolve(repo_paths(committed_repo), name or "")
    assert (s.worktree, s.worktree_branch, s.hook) == (str(committed_repo), "main",
                                                        "post-checkout")


def test_same_tree_as_the_newest_snapshot_is_not_saved_again(committed_repo: Path) -> None:
    (committed_repo / "x").write_text("x\n")
    first = snap(committed_repo)
    assert first is not None
    assert snap(committed_repo) is None
    (committed_repo / "x").write_text("y\n")
    second = snap(committed_repo)
    assert second is not None and second != first
    assert len(backup_refs(committed_repo)) == 2


def test_two_snapshots_in_one_second_get_a_suffix(committed_repo: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup.time, "time", lambda: 1_800_000_000.0)
    names = []
    for i in range(3):
        (committed_repo / "x").write_text(f"{i}\n")
        names.append(snap(committed_repo))
    base = names[0]
    assert names == [base, f"{base}-2", f"{base}-3"]
    # Newest first, the suffix deciding within the second.
    assert [s.branch for s in backup.snapshots(repo_paths(committed_repo))] == names[::-1]


def test_no_commits_yet_gives_a_snapshot_without_parent(repo: Path) -> None:
    assert snap(repo) is None  # nothing at all
    (repo / "first.txt").write_text("first\n")
    name = snap(repo)
    assert name is not None
    commit = backup_refs(repo)[name]
    assert git(repo, "rev-list", "--parents", "-n", "1", commit).stdout.split() == [commit]
    assert files_of(repo, commit) == {"first.txt": "100644"}
    assert not (repo / ".git" / "index").exists()


def test_detached_head(committed_repo: Path) -> None:
    head = out(committed_repo, "rev-parse", "HEAD")
    git(committed_repo, "checkout", "-q", "--detach")
    (committed_repo / "README.md").write_text("changed\n")
    name = snap(committed_repo)
    s = backup.resolve(repo_paths(committed_repo), name or "")
    assert s.parent == head
    assert s.worktree_branch == f"(detached at {head[:12]})"


def test_linked_worktrees_keep_their_own_snapshots(committed_repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "linked wt"
    git(committed_repo, "worktree", "add", "-q", "-b", "side", str(other))
    (committed_repo / "x").write_text("same\n")
    (other / "x").write_text("same\n")
    a = snap(committed_repo)
    b = snap(other)  # same tree, but another worktree: saved
    assert a and b and a != b
    s = backup.resolve(repo_paths(other), b)
    assert (s.worktree, s.worktree_branch) == (str(other), "side")
    assert snap(other) is None
    assert temp_leftovers(Path(out(other, "rev-parse", "--absolute-git-dir"))) == []
    # The main worktree's index was not used for the linked one.
    assert "x" not in git(committed_repo, "ls-files").stdout.split()


def test_no_identity_still_snapshots(committed_repo: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("EMAIL", "")
    (committed_repo / "x").write_text("x\n")
    name = snap(committed_repo)
    assert name is not None


def test_a_branch_called_backup_is_a_clear_error(committed_repo: Path) -> None:
    git(committed_repo, "branch", "backup")
    (committed_repo / "x").write_text("x\n")
    with pytest.raises(OssaError, match="branch named 'backup'"):
        snap(committed_repo)


def test_stale_temporary_files_are_cleaned(committed_repo: Path) -> None:
    git_dir = committed_repo / ".git"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = git_dir / f"{backup.TMP_PREFIX}{dead.pid}-abcd.index"
    stale.write_bytes(b"x")
    (git_dir / f"{stale.name}.lock").write_bytes(b"x")
    old = git_dir / f"{backup.TMP_PREFIX}{os.getppid()}-beef.index"  # alive but ancient
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    live = git_dir / f"{backup.TMP_PREFIX}{os.getppid()}-cafe.index"  # a running snapshot's
    live.write_bytes(b"x")
    snap(committed_repo)
    assert temp_leftovers(git_dir) == [live.name]


def test_a_stale_ref_lock_is_removed(committed_repo: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup.time, "time", lambda: 1_800_000_000.0)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(1_800_000_000.0))
    folder = committed_repo / ".git" / "refs" / "heads" / "backup"
    folder.mkdir(parents=True)
    lock = folder / f"auto-save-{stamp}.lock"  # left by an update-ref killed long ago
    lock.write_text("")
    os.utime(lock, (1_700_000_000, 1_700_000_000))
    (committed_repo / "x").write_text("x\n")
    assert snap(committed_repo) == f"backup/auto-save-{stamp}"
    assert not lock.exists()


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
    backup.restore(repo_paths(committed_repo), name or "")
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
        backup.restore(repo_paths(root), name, into=target)
        assert state(target) == tree_before
        assert not (target / "secret.ign").exists()


# --- concurrency and interruption -----------------------------------------------------------


def test_eight_concurrent_snapshots_from_eight_worktrees(committed_repo: Path,
                                                         tmp_path: Path) -> None:
    worktrees = []
    for i in range(8):
        wt = tmp_path / f"wt {i}"
        git(committed_repo, "worktree", "add", "-q", "-b", f"agent-{i}", str(wt))
        (wt / f"work-{i}.txt").write_text(f"agent {i}\n" * 100)
        (wt / "README.md").write_text(f"changed by {i}\n")
        worktrees.append(wt)
    exe = Path(sys.executable).with_name("ossa-hooks")
    procs = [subprocess.Popen([str(exe), "backup", "create"], cwd=wt, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for wt in worktrees]
    outputs = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    refs = backup_refs(committed_repo)
    assert len(refs) == 8
    by_worktree = {s.worktree: s for s in backup.snapshots(repo_paths(committed_repo))}
    for i, wt in enumerate(worktrees):
        commit = by_worktree[str(wt)].commit
        assert show_file(committed_repo, commit, f"work-{i}.txt") == f"agent {i}\n".encode() * 100
    fsck = git(committed_repo, "fsck", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert "error" not in fsck.stderr


def test_sigkill_at_random_points_leaves_nothing_that_blocks(committed_repo: Path) -> None:
    repo = committed_repo
    for i in range(300):
        (repo / f"f{i}.txt").write_text(f"{i}\n" * 50)
    code = ("import sys; from ossa_hooks import git;"
            " from ossa_hooks.backup import snapshot as backup;"
            "backup.snapshot(git.repo_paths(), hook='kill-test')")
    rng = random.Random(1234)
    git_dir = repo / ".git"
    # How long one snapshot takes here, so the kills land all along it.
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=repo, check=True)
    full = time.perf_counter() - start
    for round_ in range(12):
        (repo / f"f{round_}.txt").write_text(f"round {round_}\n")
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=repo, start_new_session=True)
        time.sleep(rng.uniform(0, full * 1.1))
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its git children
        proc.wait()
        for ref, commit in backup_refs(repo).items():  # no half-written ref
            assert out(repo, "cat-file", "-t", commit) == "commit", ref
        (repo / f"f{round_}.txt").write_text(f"after round {round_}\n")
        assert snap(repo) is not None  # nothing blocks the next run
        assert temp_leftovers(git_dir) == []
        assert not (git_dir / "index.lock").exists()
    fsck = git(repo, "fsck", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_sigterm_removes_the_temporary_index(committed_repo: Path) -> None:
    for i in range(200):
        (committed_repo / f"f{i}.txt").write_text(f"{i}\n" * 100)
    code = ("import os, signal; from ossa_hooks import git;"
            " from ossa_hooks.backup import snapshot as backup;"
            "real = git.call\n"
            "def call(args, *a, **k):\n"
            "    if args[0] == 'write-tree': os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return real(args, *a, **k)\n"
            "git.call = call\n"
            "backup.snapshot(git.repo_paths(), hook='term-test')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=committed_repo, check=False)
    assert proc.returncode == 128 + signal.SIGTERM
    assert temp_leftovers(committed_repo / ".git") == []
    assert backup_refs(committed_repo) == {}


# --- list, show, prune ----------------------------------------------------------------------


def test_list_and_show(committed_repo: Path) -> None:
    repo = committed_repo
    proc = ossa(repo, "backup", "list")
    assert proc.returncode == 0 and proc.stdout.strip() == "no snapshots yet"
    (repo / "README.md").write_text("x\n")
    (repo / "b.txt").write_text("b\n")
    proc = ossa(repo, "backup", "create", "-m", "before the big refactor")
    assert proc.returncode == 0
    name = proc.stdout.split()[-1]
    assert proc.stdout.startswith("saved backup/auto-save-")
    proc = ossa(repo, "backup", "create")
    assert proc.stdout.startswith("nothing to save")
    line = ossa(repo, "backup", "list").stdout.strip()
    assert line.startswith(name)
    assert "2 files" in line and "main" in line and str(repo) in line and "ago" in line
    data = json.loads(ossa(repo, "backup", "list", "--format", "json").stdout)
    assert data[0]["name"] == name and data[0]["files"] == 2
    assert data[0]["subject"] == "before the big refactor" and data[0]["hook"] == "manual"
    out = ossa(repo, "backup", "show", name.removeprefix("backup/"), "--patch").stdout
    assert "subject:  before the big refactor" in out
    assert "    M README.md" in out and "    A b.txt" in out
    assert "+x" in out


def test_prune_keeps_the_newest(committed_repo: Path) -> None:
    names = []
    for i in range(4):
        (committed_repo / "x").write_text(f"{i}\n")
        names.append(snap(committed_repo))
    proc = ossa(committed_repo, "backup", "prune", "--keep", "2")
    assert proc.returncode == 0
    assert sorted(backup_refs(committed_repo)) == sorted(names[2:])
    assert "2 snapshots deleted" in proc.stdout


def test_prune_merged_removes_what_the_branch_already_has(committed_repo: Path) -> None:
    repo = committed_repo
    (repo / "feature.txt").write_text("done\n")
    done = snap(repo)
    (repo / "feature.txt").write_text("half\n")
    half = snap(repo)
    (repo / "feature.txt").write_text("done\n")
    git(repo, "add", "feature.txt")
    git(repo, "commit", "-q", "-m", "feature")
    paths = repo_paths(repo)
    # Not on a terminal: only a report, nothing deleted.
    assert backup.prune(paths, merged=True, ask=True) == []
    assert len(backup_refs(repo)) == 2
    assert backup.prune(paths, merged=True) == [done]
    assert list(backup_refs(repo)) == [half]


def test_prune_asks_on_a_terminal(committed_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (committed_repo / "x").write_text("1\n")
    first = snap(committed_repo)
    (committed_repo / "x").write_text("2\n")
    snap(committed_repo)
    questions: list[str] = []
    monkeypatch.setattr(backup, "_ask", lambda q: questions.append(q) or False)
    assert backup.prune(repo_paths(committed_repo), keep=1, ask=True) == []
    monkeypatch.setattr(backup, "_ask", lambda q: True)
    assert backup.prune(repo_paths(committed_repo), keep=1, ask=True) == [first]
    assert questions and first in questions[0]


def test_prune_never_counts_away_conflict_parkings(committed_repo: Path) -> None:
    _conflicted_merge(committed_repo)
    parked = backup.park(repo_paths(committed_repo), reason="test")
    (committed_repo / "x").write_text("x\n")
    snap(committed_repo)
    deleted = backup.prune(repo_paths(committed_repo), keep=0)
    assert parked not in deleted and len(deleted) == 1


# --- conflict parking -----------------------------------------------------------------------


def _conflicted_merge(repo: Path) -> str:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "README.md").write_text("theirs\n")
    git(repo, "commit", "-q", "-am", "theirs")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("ours\n")
    (repo / "clean.txt").write_text("merged cleanly\n")
    git(repo, "add", "README.md", "clean.txt")
    git(repo, "commit", "-q", "-m", "ours")
    proc = git(repo, "merge", "other", check=False)
    assert proc.returncode == 1 and (repo / ".git" / "MERGE_HEAD").exists()
    return out(repo, "rev-parse", "other")


def test_park_a_failed_merge(committed_repo: Path) -> None:
    repo = committed_repo
    (repo / "notes.txt").write_text("untracked before the merge\n")
    head = out(repo, "rev-parse", "HEAD")
    theirs = _conflicted_merge(repo)
    head = out(repo, "rev-parse", "HEAD")
    proc = ossa(repo, "backup", "park", "--reason", "merge-back of agent x")
    assert proc.returncode == 0, proc.stderr
    name = proc.stdout.split()[5].rstrip(";")
    assert name.startswith("backup/conflict-")
    s = backup.resolve(repo_paths(repo), name)
    assert s.parents == (head, theirs)
    assert s.reason == "merge-back of agent x"
    assert "Merge branch 'other'" in s.subject
    conflicted = show_file(repo, s.commit, "README.md").decode()
    assert "<<<<<<<" in conflicted and "ours" in conflicted and "theirs" in conflicted
    # The worktree is as before the merge began.
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert out(repo, "rev-parse", "HEAD") == head
    assert (repo / "README.md").read_text() == "ours\n"
    assert git(repo, "status", "--porcelain").stdout.splitlines() == ["?? notes.txt"]


def test_park_without_a_merge(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "backup", "park")
    assert proc.returncode == 2
    assert "no merge in progress" in proc.stderr


# --- push -----------------------------------------------------------------------------------


def _with_origin(repo: Path, tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    return origin


def test_push_in_the_background(committed_repo: Path, tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    (committed_repo / ".ossa-hooks.yaml").write_text("backup:\n  push: true\n")
    (committed_repo / "work.txt").write_text("plain work\n")
    proc = ossa(committed_repo, "backup", "create")
    assert proc.returncode == 0
    name = proc.stdout.split()[-1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if git(origin, "rev-parse", "-q", "--verify", f"refs/heads/{name}",
               check=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the snapshot never reached origin")
    log = (committed_repo / ".git" / "ossa-hooks" / "backup-push.log")
    while time.monotonic() < deadline and "pushed" not in log.read_text():
        time.sleep(0.1)
    assert f"{name}: pushed to origin" in log.read_text()


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.1)


def test_prune_deletes_the_pushed_copies_too(committed_repo: Path, tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    (committed_repo / ".ossa-hooks.yaml").write_text("backup:\n  push: true\n")
    names = []
    for text in ("one\n", "two\n"):
        (committed_repo / "work.txt").write_text(text)
        names.append(ossa(committed_repo, "backup", "create").stdout.split()[-1])

    def on_origin() -> set[str]:
        refs = git(origin, "for-each-ref", "--format=%(refname:lstrip=2)").stdout
        return set(refs.split())

    _wait_for(lambda: on_origin() == set(names), "the snapshots never reached origin")
    log = committed_repo / ".git" / "ossa-hooks" / "backup-push.log"
    _wait_for(lambda: log.read_text().count("pushed to origin") == 2, "no push logged")
    proc = ossa(committed_repo, "backup", "prune", "--keep", "1")
    assert proc.returncode == 0, proc.stderr
    assert "deleting 1 pushed copy from origin in the background" in proc.stderr
    _wait_for(lambda: on_origin() == {names[1]}, "the pruned snapshot stayed on origin")
    _wait_for(lambda: "deleted from origin" in log.read_text(), "no deletion logged")
    assert f"{names[0]}: deleted from origin" in log.read_text()
    # A snapshot never pushed is pruned here only; an unreachable remote is logged.
    git(committed_repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = ossa(committed_repo, "backup", "prune", "--keep", "0")
    assert proc.returncode == 0 and "1 snapshot deleted" in proc.stdout
    _wait_for(lambda: "removal from origin failed" in log.read_text(), "no failure logged")


def test_a_snapshot_with_a_secret_is_not_pushed(committed_repo: Path, tmp_path: Path) -> None:
    origin = _with_origin(committed_repo, tmp_path)
    key = "AKIA" + "Z7Q2RT5LMN3XPK4W"
    (committed_repo / "config.py").write_text(f'aws_access_key_id = "{key}"\n')
    name = snap(committed_repo)
    assert name
    outcome = backup.push(repo_paths(committed_repo), name, "origin")
    assert outcome.startswith("not pushed: 1 possible secret(s): config.py:1:")
    assert key not in outcome
    assert git(origin, "for-each-ref").stdout == ""
    log = (committed_repo / ".git" / "ossa-hooks" / "backup-push.log").read_text()
    assert f"{name}: not pushed" in log


def test_the_commit_guard_scanner_is_used_when_present(committed_repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    seen: list[bytes] = []

    class Found:
        path, line, kind, masked = "app.py", 1, "Fake Key", "abcd…"

    class Result:
        def __init__(self) -> None:
            self.findings = [Found()]

    class Engine:
        def scan_patch(self, patch: bytes) -> Result:
            seen.append(patch)
            return Result()

    fake = types.ModuleType("ossa_hooks.secrets.engine")
    fake.DIFF_OPTIONS = ("-p", "-U0", "--no-color")  # type: ignore[attr-defined]
    fake.engine_for = lambda config: Engine()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ossa_hooks.secrets.engine", fake)
    (committed_repo / "app.py").write_text("token = 'x'\n")
    name = snap(committed_repo)
    s = backup.resolve(repo_paths(committed_repo), name or "")
    assert backup.find_secrets(repo_paths(committed_repo), s) == ["app.py:1: Fake Key: abcd…"]
    assert b"+token = 'x'" in seen[0]


def test_a_failed_push_is_logged_not_raised(committed_repo: Path) -> None:
    (committed_repo / "x").write_text("x\n")
    name = snap(committed_repo)
    outcome = backup.push(repo_paths(committed_repo), name or "", "nowhere")
    assert outcome.startswith("push to nowhere failed")


def test_added_lines_of_odd_names(committed_repo: Path) -> None:
    (committed_repo / "a b ø.txt").write_text("one\ntwo\n")
    name = snap(committed_repo)
    s = backup.resolve(repo_paths(committed_repo), name or "")
    assert backup.added_lines(repo_paths(committed_repo), s) == [("a b ø.txt", 1, "one"),
                                                                  ("a b ø.txt", 2, "two")]


def test_the_hook_path_imports_no_heavy_module(committed_repo: Path) -> None:
    (committed_repo / "x").write_text("x\n")
    code = ("import sys; from ossa_hooks import git, config;"
            " from ossa_hooks.backup import snapshot as backup;"
            "print(backup.snapshot(git.hook_repo_paths(), hook='t',"
            " config=config.Config(config.defaults())));"
            "print(sorted(m for m in ('detect_secrets', 'yaml', 'git', 'tiktoken', 'subprocess',"
            " 'pathlib', 'typing', 'dataclasses', 're') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=committed_repo, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0].startswith("backup/auto-save-")
    assert out[1] == "[]"
