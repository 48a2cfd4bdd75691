"""What makes removal safe: one lifecycle at a time per repository, the base recorded where an
agent cannot edit it, worktrees moved to the trash (never deleted, never while in use), and
branches deleted only when another branch holds their tip (kept under a keep ref first).

Merge-back, cleanup and the post-merge sweep hold :func:`lifecycle_lock` (an ``flock`` on
``<git common dir>/ossa-hooks/lifecycle.lock``, released by the kernel when a process dies,
so a killed run never leaves it held). Under it, the temporary merge worktrees a killed run
left behind are recovered (:func:`recover_temporary_worktrees`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.backup import keep
from ossa_hooks.backup import trash
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree import lease
from ossa_hooks.worktree.records import Echo
from ossa_hooks.worktree.records import _cwd
from ossa_hooks.worktree.records import _within
from ossa_hooks.worktree.records import main_worktree

LOCK_NAME = "lifecycle.lock"
TMP_DIR = "tmp"
TMP_PREFIX = "merge-"
WAIT_SECONDS = 900.0

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.doctor import Finding

# The lifecycle locks this process holds (common dir -> depth): flock is per open file, so a
# second open in the same process would wait for itself.
_HELD: dict[str, int] = {}


# --- one lifecycle at a time ------------------------------------------------------------------


@contextlib.contextmanager
def lifecycle_lock(repo: RepoPaths, *, echo: Echo | None = None,
                   timeout: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the repository's lifecycle lock while the block runs (waiting for it if needed).
    Re-entrant within a process: a cleanup holding it calls merge-back, which asks again."""
    import fcntl

    key = os.path.realpath(repo.common_dir_str)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(repo.state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OssaError(
                        f"another cleanup or merge-back of this repository has run for over"
                        f" {timeout:g} s ({repo.state_dir / LOCK_NAME}): try again later",
                        code=EXIT_FAILED) from None
                if echo is not None and not said:
                    echo("waiting for another cleanup or merge-back of this repository")
                    said = True
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
    finally:
        os.close(fd)


def lock_is_free(repo: RepoPaths) -> bool:
    """True when no process holds the lifecycle lock now."""
    from ossa_hooks import pids

    return not pids.lock_held(repo.state_dir / LOCK_NAME)


# --- temporary merge worktrees ----------------------------------------------------------------


def temporary_worktrees(repo: RepoPaths) -> list[Path]:
    """The temporary merge worktrees under the state dir (left by killed runs when no
    lifecycle is running)."""
    parent = repo.state_dir / TMP_DIR
    try:
        return sorted(p for p in parent.iterdir() if p.name.startswith(TMP_PREFIX))
    except OSError:
        return []


def remove_temporary(repo: RepoPaths, path: Path) -> None:
    """Remove one temporary merge worktree (ours: it holds no one's work)."""
    cwd = _cwd(repo)
    admin = trash.admin_dir(path)
    if admin is not None:
        with contextlib.suppress(OSError):
            (admin / "locked").unlink()
    git.run(["worktree", "remove", "--force", "--force", str(path)], cwd, check=False)
    shutil.rmtree(path, ignore_errors=True)
    git.run(["worktree", "prune"], cwd, check=False)


def recover_temporary_worktrees(repo: RepoPaths) -> list[str]:
    """Remove the temporary merge worktrees of killed runs; call with the lifecycle lock held."""
    done = []
    for path in temporary_worktrees(repo):
        remove_temporary(repo, path)
        done.append(f"{path}: removed a temporary merge worktree left by a killed run")
    return done


# --- the base recorded at create time ---------------------------------------------------------


def _base_record(repo: RepoPaths, branch: str) -> Path:
    key = hashlib.sha256(branch.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return repo.state_dir / "bases" / f"{key}.json"


def record_base(repo: RepoPaths, branch: str, base: str, base_commit: str) -> None:
    """Remember the base ``branch`` was made from, in the common dir (not in ``.env``)."""
    path = _base_record(repo, branch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"branch": branch, "base": base, "base_commit": base_commit,
                               "time": time.time()}), encoding="utf-8")
    os.replace(tmp, path)


def recorded_base(repo: RepoPaths, branch: str) -> tuple[str | None, str | None]:
    """(base branch, base commit) recorded when ``branch`` was created; (None, None) if none."""
    try:
        data = json.loads(_base_record(repo, branch).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if data.get("branch") != branch:
        return None, None
    return data.get("base") or None, data.get("base_commit") or None


def forget_base(repo: RepoPaths, branch: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _base_record(repo, branch).unlink()


# --- symlinks ----------------------------------------------------------------------------------


def symlink_on_the_way(root: Path, target: Path) -> Path | None:
    """The first symlink from ``root`` down to ``target`` (included), None when there is none
    (or ``target`` is not below ``root``)."""
    try:
        rel = target.relative_to(root)
    except ValueError:
        return None
    here = root
    for part in rel.parts:
        here = here / part
        if here.is_symlink():
            return here
    return None


def refuse_symlink(root: Path, target: Path, what: str) -> None:
    """An error when writing ``target`` would go through a symlink below ``root``."""
    link = symlink_on_the_way(root, target)
    if link is not None:
        raise OssaError(f"{link} is a symlink (to {os.path.realpath(link)}): ossa-hooks does not"
                        f" write {what} through it; replace it with a folder")


# --- removal ----------------------------------------------------------------------------------


def in_use(repo: RepoPaths, path: Path) -> list[str]:
    """Why ``path`` must not be removed now (``lease.live_use``); [] when it may."""
    if not path.is_dir():
        return []
    return lease.live_use(repo, path)


def move_to_trash(repo: RepoPaths, config: Config, path: Path, *, reason: str,
                  echo: Echo) -> trash.Entry | None:
    """Move worktree ``path`` to the trash and drop git's record of it; None when it is gone
    already. Refuses (exit 1) when something uses it."""
    cwd = _cwd(repo)
    entry = None
    if path.is_dir():
        busy = in_use(repo, path)
        if busy:
            raise OssaError(f"{path} is in use ({'; '.join(busy)}): nothing was removed",
                            code=EXIT_FAILED)
        _leave(path, repo, echo)
        head = git.run(["rev-parse", "-q", "--verify", "HEAD"], path, check=False)
        branch = git.run(["symbolic-ref", "-q", "--short", "HEAD"], path, check=False)
        entry = trash.put(repo, path, reason=reason, config=config,
                          branch=branch.stdout.decode("utf-8", "surrogateescape").strip(),
                          head=head.stdout.decode().strip())
        echo(f"moved worktree {path} to the trash (`ossa-hooks trash restore {entry.id}`"
             " puts it back)")
    git.run(["worktree", "prune"], cwd, check=False)
    lease.forget(repo, path)
    return entry


def _leave(path: Path, repo: RepoPaths, echo: Echo) -> None:
    """Move this process out of ``path`` before it goes."""
    try:
        here = Path.cwd()
    except OSError:
        return
    if _within(here, path):
        import shlex

        away = main_worktree(repo) or repo.common_dir
        os.chdir(away)
        echo(f"note: you were inside it; now: cd {shlex.quote(str(away))}")


def delete_branch(repo: RepoPaths, branch: str, echo: Echo) -> bool:
    """Delete ``branch`` when another branch holds its tip, after keeping the tip under a keep
    ref; otherwise keep the branch and say so. True when it was deleted."""
    cwd = _cwd(repo)
    proc = git.run(["rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}"], cwd,
                   check=False)
    tip = proc.stdout.decode().strip()
    if proc.returncode != 0 or not tip:
        return False
    holders = keep.on_a_branch(repo, tip, besides=branch)
    if not holders:
        echo(f"kept branch {branch}: it is not merged (no other branch holds its tip;"
             f" delete it with: git branch -D {branch})")
        return False
    ref = keep.keep(repo, branch, tip, why=f"{branch} deleted, held by {holders[0]}")
    done = git.run(["branch", "-D", branch], cwd, check=False)
    if done.returncode != 0:
        git.run(["update-ref", "-d", ref, tip], cwd, check=False)
        echo(f"kept branch {branch}: {done.stderr.decode('utf-8', 'replace').strip()}")
        return False
    forget_base(repo, branch)
    echo(f"deleted branch {branch} (its tip {tip[:10]} is on {holders[0]}; kept as {ref})")
    return True


# --- doctor -----------------------------------------------------------------------------------

STALE_LOCK_SECONDS = 600.0


def stale_git_locks(repo: RepoPaths) -> list[Path]:
    """git lock files (refs, packed-refs, config, each worktree's index) older than ten
    minutes that no process has open: left by a killed git."""
    from ossa_hooks.backup.tempindex import open_files

    common = repo.common_dir
    candidates: list[Path] = []
    for here, _dirs, files in os.walk(common / "refs"):
        candidates.extend(Path(here) / f for f in files if f.endswith(".lock"))
    candidates.extend(common / n for n in ("packed-refs.lock", "config.lock", "index.lock",
                                           "HEAD.lock"))
    with contextlib.suppress(OSError):
        for admin in (common / "worktrees").iterdir():
            candidates.extend(admin / n for n in ("index.lock", "HEAD.lock"))
    now = time.time()
    old = []
    for path in candidates:
        try:
            if now - path.lstat().st_mtime > STALE_LOCK_SECONDS:
                old.append(path)
        except OSError:
            continue
    if not old:
        return []
    in_use_now = open_files()
    return [p for p in old if os.path.realpath(p) not in in_use_now]


def doctor_check(repo: RepoPaths) -> list[Finding]:
    """``doctor``: temporary merge worktrees a killed run left, stale git lock files."""
    from ossa_hooks.doctor import Finding

    found: list[Finding] = []
    if lock_is_free(repo):
        for path in temporary_worktrees(repo):
            found.append(Finding("stale", str(path),
                                 "temporary merge worktree left by a killed cleanup",
                                 "ossa-hooks doctor --fix"))
    else:
        found.append(Finding("ok", str(repo.state_dir / LOCK_NAME),
                             "a cleanup or merge-back is running now"))
    for path in stale_git_locks(repo):
        found.append(Finding("stale", str(path), "git lock file left by a killed git command",
                             "ossa-hooks doctor --fix"))
    if not found:
        found.append(Finding("ok", str(repo.common_dir), "no leftover temporary worktree or"
                             " git lock"))
    return found


def doctor_fix(repo: RepoPaths) -> list[str]:
    done: list[str] = []
    try:
        with lifecycle_lock(repo, timeout=5.0):
            done.extend(recover_temporary_worktrees(repo))
    except OssaError:
        done.append(f"{repo.common_dir}: a cleanup is running; its temporary worktrees are"
                    " left alone (run doctor --fix again later)")
    for path in stale_git_locks(repo):
        with contextlib.suppress(OSError):
            path.unlink()
            done.append(f"{path}: removed a stale git lock file")
    return done


# --- for the agent runner -----------------------------------------------------------------------


def keep_tip(repo: RepoPaths, branch: str, commit: str, why: str) -> str:
    """``commit`` (the tip of ``branch``) under a keep ref of backup's (agents may import
    worktree, not backup): not a branch, and gc keeps it. Returns the ref."""
    return keep.keep(repo, branch, commit, why=why)


def watch_agent_worktree(worktree: Path, *, idle_minutes: float = 30.0) -> int | None:
    """Start ``backup watch`` for an agent's worktree (agents may import worktree, not
    backup): every change is snapshotted a moment later, so an agent's ``git reset --hard``
    or ``rm -rf`` costs at most the last seconds. Returns the watcher's pid, None when one
    runs already. The watcher stops by itself after ``idle_minutes`` without a change."""
    from ossa_hooks.backup import watch

    return watch.start_for(worktree, idle_minutes=idle_minutes)
