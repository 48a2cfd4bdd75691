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
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

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


# --- a snapshot is verified or it fails loudly ----------------------------------------------


def assert_nothing_left(repo: Path) -> None:
    """No backup ref, no temporary index, no git temporary pack after a failed snapshot."""
    assert backup_refs(repo) == {}
    assert temp_leftovers(repo / ".git") == []
    assert [p.name for p in (repo / ".git" / "objects" / "pack").glob("tmp_*")] == []


def test_a_file_git_silently_skipped_fails_the_snapshot(committed_repo: Path,
                                                        tmp_path: Path) -> None:
    # A `git` that reports success but leaves one file out of every `add` (a filter, a
    # broken file system): the check after `add` must notice, not trust the exit code.
    shim = tmp_path / "bin"
    shim.mkdir()
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                          check=True).stdout.strip()
    (shim / "git").write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do if [ "$a" = add ]; then\n'
        f'  exec {real} "$@" ":(exclude,glob)**/unsaveable*"; fi; done\n'
        f'exec {real} "$@"\n')
    (shim / "git").chmod(0o755)
    install_hooks(committed_repo)
    (committed_repo / "README.md").write_text("edited\n")
    (committed_repo / "unsaveable.txt").write_text("precious\n")
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    proc = ossa(committed_repo, "backup", "create", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stderr and "unsaveable.txt (not in the snapshot)" in proc.stderr
    assert "nothing to save" not in proc.stdout
    assert_nothing_left(committed_repo)
    # The checkout hook says so in one line, and the checkout itself goes on. (git puts its
    # exec path first on a hook's PATH: the shim goes there.)
    git(committed_repo, "branch", "side")
    done = git(committed_repo, "checkout", "side", env={**env, "GIT_EXEC_PATH": str(shim)})
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("ossa-hooks")]
    assert len(lines) == 1 and "FAILED" in lines[0] and "unsaveable.txt" in lines[0], lines
    assert out(committed_repo, "branch", "--show-current") == "side"
    assert backup_refs(committed_repo) == {}


def _as_nobody(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder the unprivileged user 65534 owns, and the command prefix that runs as it."""
    home = Path(tempfile.mkdtemp(prefix="ossa-nobody-"))
    home.chmod(0o755)
    (home / ".gitconfig").write_text("[user]\n\tname = N\n\temail = n@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n"
                                     "[safe]\n\tdirectory = *\n")
    return home, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_an_unreadable_file_fails_the_snapshot(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:
        probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                str(Path(sys.executable).with_name("ossa-hooks")), "--version"],
                               capture_output=True, check=False, cwd="/")
        if probe.returncode != 0:
            pytest.skip("user 65534 cannot run this environment's Python (a private folder"
                        " on its path), and root reads any file")
        root, prefix = _as_nobody(tmp_path)
        monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(root / ".gitconfig"))  # safe.directory
    else:
        root, prefix = Path(tempfile.mkdtemp(prefix="ossa-unreadable-")), []
    repo = root / "repo"
    repo.mkdir()
    env = {**os.environ, "HOME": str(root), "GIT_CONFIG_GLOBAL": str(root / ".gitconfig")}
    (repo / "notes.txt").write_text("readable\n")
    (repo / "secret.txt").write_text("unreadable\n")
    if prefix:
        for p in [root, *root.rglob("*")]:
            os.chown(p, 65534, 65534, follow_symlinks=False)
    try:
        for cmd in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "i"]):
            subprocess.run([*prefix, "git", *cmd], cwd=repo, env=env, check=True)
        (repo / "secret.txt").chmod(0)
        exe = Path(sys.executable).with_name("ossa-hooks")
        proc = subprocess.run([*prefix, str(exe), "backup", "create"], cwd=repo, env=env,
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "secret.txt (Permission denied)" in proc.stderr
        assert "notes.txt" not in proc.stderr
        assert_nothing_left(repo)
    finally:
        import shutil

        (repo / "secret.txt").chmod(0o644)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_nearly_full_disk_fails_the_snapshot_and_leaves_nothing(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], check=True)
    try:
        repo = disk / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        (repo / ".gitignore").write_text("filler\n")
        (repo / "README.md").write_text("hello\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "i")
        (repo / "big.bin").write_bytes(os.urandom(700_000))  # does not compress
        with open(repo / "filler", "wb") as f:  # fill the disk, then free a little
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
            f.truncate(max(f.tell() - 200_000, 0))
        proc = ossa(repo, "backup", "create")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "FAILED" in proc.stderr and "big.bin" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert_nothing_left(repo)
        # With room again, the same snapshot is made whole.
        (repo / "filler").unlink()
        proc = ossa(repo, "backup", "create")
        assert proc.returncode == 0, proc.stderr
        [name] = backup_refs(repo)
        assert show_file(repo, name, "big.bin") == (repo / "big.bin").read_bytes()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_nested_repository_is_saved_as_its_commit(committed_repo: Path) -> None:
    nested = committed_repo / "vendor" / "lib"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    (nested / "x.txt").write_text("x\n")
    git(nested, "add", "x.txt")
    git(nested, "commit", "-q", "-m", "nested")
    (nested / "dirty.txt").write_text("nested work\n")
    name = snap(committed_repo)
    assert name is not None
    assert files_of(committed_repo, name)["vendor/lib"] == "160000"


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
            "real = git.start\n"
            "def start(args, *a, **k):\n"
            "    if args[0] == 'write-tree': os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return real(args, *a, **k)\n"
            "git.start = start\n"
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

