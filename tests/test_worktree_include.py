"""``.worktreeinclude``: ignored files carried from the main worktree into a new agent
worktree, on real repositories: nested folders, odd names, symlinks, the ``.env`` merge."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.worktree import include

QUIET_CONFIG = (
    "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n  pre-rebase: []\n"
    "  post-merge: []\n"
)
GITIGNORE = ".env\nnode_modules/\n*.local.yaml\ndonnées locales/\nlink-*\ncache\nnotes.txt\n"
INCLUDE = (
    "# what an agent needs to run\n.env\nnode_modules/*\n!node_modules/.cache\n"
    "config/*.local.yaml\ndonnées locales/\nlink-*\ncache\nnot-ignored.txt\n"
)


@pytest.fixture
def proj(committed_repo: Path, tmp_path: Path) -> Path:
    """A repository whose main worktree has ignored files, some listed in .worktreeinclude."""
    repo = committed_repo
    (repo / ".ossa-hooks.yaml").write_text(QUIET_CONFIG)
    (repo / ".gitignore").write_text(GITIGNORE)
    (repo / ".worktreeinclude").write_text(INCLUDE)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "config")
    files = {
        "node_modules/left-pad/index.js": "module.exports = 1\n",
        "node_modules/left-pad/deep/er/x.js": "x\n",
        "node_modules/.cache/big.bin": "cache\n",
        "config/app.local.yaml": "db: local\n",
        "config/deep/other.local.yaml": "not listed: config/*.local.yaml is one level\n",
        "données locales/fichier à lire.txt": "bonjour\n",
        "notes.txt": "ignored but not listed\n",
        "not-ignored.txt": "listed but not ignored\n",
    }
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (repo / "node_modules/left-pad/index.js").chmod(0o755)
    (repo / ".env").write_text(
        "# local settings\nDATABASE_URL='postgres://me@localhost/shop dev'\n"
        "export API_PORT=8080\nOSSA_TASK_NAME=stale\n"
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("private key\n")
    os.symlink(outside / "secret.txt", repo / "link-out")
    os.symlink(outside, repo / "cache")
    os.symlink("config/app.local.yaml", repo / "link-rel")
    os.symlink(repo / "config" / "app.local.yaml", repo / "link-abs")
    return repo


def wt(repo: Path, task: str = "t1") -> Path:
    return repo / ".worktrees" / f"repo-space__coder__{task}"


def test_listed_uses_git_rules(proj: Path) -> None:
    found = include.listed(proj)
    assert sorted(found) == sorted([
        ".env", "node_modules/left-pad/index.js", "node_modules/left-pad/deep/er/x.js",
        "config/app.local.yaml", "données locales/fichier à lire.txt",
        "link-out", "cache", "link-rel", "link-abs",
    ])


def test_create_copies_listed_ignored_files(proj: Path) -> None:
    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    new = wt(proj)
    assert (new / "node_modules/left-pad/deep/er/x.js").read_text() == "x\n"
    assert (new / "données locales/fichier à lire.txt").read_text() == "bonjour\n"
    assert (new / "config/app.local.yaml").read_text() == "db: local\n"
    assert stat.S_IMODE((new / "node_modules/left-pad/index.js").stat().st_mode) == 0o755
    assert (new / "node_modules/left-pad/index.js").stat().st_mtime == pytest.approx(
        (proj / "node_modules/left-pad/index.js").stat().st_mtime)
    # Negated in .worktreeinclude, not listed, listed but not ignored: not copied.
    for name in ("node_modules/.cache/big.bin", "config/deep/other.local.yaml", "notes.txt",
                 "not-ignored.txt"):
        assert not (new / name).exists(), name
    assert ".worktreeinclude: copied 4 ignored file(s)" in proc.stdout, proc.stdout
    assert "2 symlink(s)" in proc.stdout
    assert "merged 2 variable(s) of the main worktree's .env" in proc.stdout
    # What was carried over is ignored in the new worktree too: it is clean.
    assert git(new, "status", "--porcelain").stdout == ""


def test_symlinks_never_lead_out(proj: Path) -> None:
    proc = ossa(proj, "worktree", "create", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    new = wt(proj)
    assert not os.path.lexists(new / "link-out")
    assert not os.path.lexists(new / "cache")
    assert "skipped 2 (" in proc.stdout
    assert "link-out: symlink pointing outside the repository" in proc.stdout
    # A link inside the repository is recreated; an absolute one now points into the worktree.
    assert os.readlink(new / "link-rel") == "config/app.local.yaml"
    assert not os.path.isabs(os.readlink(new / "link-abs"))
    assert (new / "link-abs").resolve() == (new / "config/app.local.yaml").resolve()


def test_env_merged_with_the_agents_values(proj: Path) -> None:
    assert ossa(proj, "worktree", "create", "coder", "t1").returncode == 0
    env_file = wt(proj) / ".env"
    text = env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "OSSA_TASK_NAME=stale" not in text
    assert text.count("OSSA_TASK_NAME=") == 1
    # A shell that sources it sees the main worktree's values and the agent's own.
    shown = subprocess.run(
        ["sh", "-c", 'set -a; . ./.env; set +a; printf "%s|%s|%s" "$DATABASE_URL" "$API_PORT"'
         ' "$OSSA_TASK_NAME"'], cwd=wt(proj), capture_output=True, text=True, check=True,
    ).stdout
    assert shown == "postgres://me@localhost/shop dev|8080|t1"


def test_no_include_skips_it(proj: Path) -> None:
    proc = ossa(proj, "worktree", "create", "--no-include", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    new = wt(proj)
    assert not (new / "node_modules").exists()
    assert "DATABASE_URL" not in (new / ".env").read_text()
    assert ".worktreeinclude" not in proc.stdout


def test_no_include_file_no_line(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text(QUIET_CONFIG)
    git(committed_repo, "add", ".")
    git(committed_repo, "commit", "-q", "-m", "c")
    proc = ossa(committed_repo, "worktree", "create", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert ".worktreeinclude" not in proc.stdout


def test_tracked_file_of_the_branch_is_kept(proj: Path) -> None:
    # The base tracks a file the main worktree's rules now ignore: the branch's version stays.
    git(proj, "add", "-f", "config/app.local.yaml")
    git(proj, "commit", "-q", "-m", "track it")
    git(proj, "rm", "-q", "--cached", "config/app.local.yaml")
    git(proj, "commit", "-q", "-m", "untrack it")
    git(proj, "branch", "old", "HEAD~1")
    (proj / "config/app.local.yaml").write_text("db: changed locally\n")
    proc = ossa(proj, "worktree", "create", "--base", "old", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert (wt(proj) / "config/app.local.yaml").read_text() == "db: local\n"
    assert "config/app.local.yaml: already in the new worktree" in proc.stdout


def test_symlinked_folder_in_the_new_worktree_is_not_written_through(
        proj: Path, tmp_path: Path) -> None:
    # The branch tracks `config` as a symlink to a folder outside: nothing is written there.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    git(proj, "checkout", "-q", "-b", "odd")
    os.rename(proj / "config", tmp_path / "config-moved")
    os.symlink(elsewhere, proj / "config")
    git(proj, "add", "config")
    git(proj, "commit", "-q", "-m", "config is a link")
    os.unlink(proj / "config")
    git(proj, "checkout", "-q", "main")
    os.rename(tmp_path / "config-moved", proj / "config")
    proc = ossa(proj, "worktree", "create", "--base", "odd", "coder", "t1")
    assert proc.returncode == 0, proc.stderr
    assert list(elsewhere.iterdir()) == []
    assert "config/app.local.yaml: its folder in the new worktree is a symlink" in proc.stdout


def _fds(tmp_path: Path, data: bytes) -> tuple[int, int, Path]:
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    dst = tmp_path / "dst.bin"
    return os.open(src, os.O_RDONLY), os.open(dst, os.O_WRONLY | os.O_CREAT), dst


def test_clone_falls_back_to_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(3 << 20) + b"tail"
    fin, fout, dst = _fds(tmp_path, data)
    import fcntl

    def no_clone(*_: object) -> None:
        raise OSError(errno.EOPNOTSUPP, "no reflink here")

    def no_range(*_: object) -> int:
        raise OSError(errno.ENOSYS, "no copy_file_range")

    monkeypatch.setattr(fcntl, "ioctl", no_clone)
    monkeypatch.setattr(os, "copy_file_range", no_range)
    try:
        assert include.clone_fd(fin, fout, len(data)) is False
    finally:
        os.close(fin)
        os.close(fout)
    assert dst.read_bytes() == data


def test_clone_on_this_file_system(tmp_path: Path) -> None:
    # Whatever this file system offers (a reflink on btrfs/xfs, copy_file_range on ext4), the
    # copy is exact.
    data = os.urandom(1 << 20)
    fin, fout, dst = _fds(tmp_path, data)
    try:
        include.clone_fd(fin, fout, len(data))
    finally:
        os.close(fin)
        os.close(fout)
    assert dst.read_bytes() == data


def test_other_errors_are_not_swallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fin, fout, _ = _fds(tmp_path, b"x")
    import fcntl

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fcntl, "ioctl", full)
    try:
        with pytest.raises(OSError, match="No space"):
            include.clone_fd(fin, fout, 1)
    finally:
        os.close(fin)
        os.close(fout)


def test_a_refused_way_is_not_tried_again(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    calls: list[object] = []

    def no_clone(*args: object) -> None:
        calls.append(args)
        raise OSError(errno.EXDEV, "no reflink across these")

    monkeypatch.setattr(fcntl, "ioctl", no_clone)
    unavailable: set[str] = set()
    for name in ("a", "b", "c"):
        src = tmp_path / f"{name}.src"
        src.write_text(name * 100)
        assert include.copy_file(src, tmp_path / name, src.stat(), unavailable) is False
        assert (tmp_path / name).read_text() == name * 100
    assert len(calls) == 1 and "clone" in unavailable
