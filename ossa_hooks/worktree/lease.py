"""Leases on worktrees: who is working in a worktree right now, so nothing removes it under them.

While an agent, a workflow or a person's long command works in a worktree it holds a lease: a
record in the git common dir (``ossa-hooks/leases/<key>.json``: the worktree, the holder, the
process id and that process's start time) and git's own lock on linked worktrees
(``git worktree lock --reason "ossa-hooks: HOLDER pid N"``), which ``git worktree remove`` and
``prune`` honour too. A lease is live while its process runs (same pid *and* same start time,
so a recycled pid does not keep a dead lease alive); a lease whose process is gone is stale and
is taken over, with a message.

:func:`live_use` answers "may this worktree be removed now?" for cleanup, the post-merge sweep
and ``doctor --fix``: a live lease, a process whose working directory is inside the worktree
(read from ``/proc`` on Linux), a git operation in progress (``index.lock``, a merge, a rebase,
a cherry-pick, a revert, a bisect) or a lock someone else put on it each say no.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import git
from ossa_hooks import pids
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.doctor import Finding

REASON_PREFIX = "ossa-hooks: "

# A git operation in progress in a worktree leaves one of these in its git dir.
_IN_PROGRESS = (
    ("index.lock", "a git command is running (index.lock)"),
    ("MERGE_HEAD", "a merge is in progress"),
    ("rebase-merge", "a rebase is in progress"),
    ("rebase-apply", "a rebase or am is in progress"),
    ("CHERRY_PICK_HEAD", "a cherry-pick is in progress"),
    ("REVERT_HEAD", "a revert is in progress"),
    ("BISECT_LOG", "a bisect is in progress"),
)

Echo = Callable[[str], None]


class LeaseHeld(OssaError):
    """Another live process holds the worktree's lease."""


@dataclass(frozen=True, slots=True)
class Lease:
    """One worktree's lease: who holds it and how to tell whether that process still runs."""

    worktree: str
    holder: str
    pid: int
    start: str
    host: str
    acquired: float
    agent_id: str = ""
    workflow_id: str = ""

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.acquired))
        return f"{self.holder} (pid {self.pid}, since {when})"

    @property
    def reason(self) -> str:
        """The ``git worktree lock`` reason this lease writes."""
        return f"{REASON_PREFIX}{self.holder} pid {self.pid}"


# --- processes ------------------------------------------------------------------------------


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), or
    "" where there is no /proc; with the pid it names one process for good."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return ""
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else ""


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def ancestors(pid: int | None = None) -> set[int]:
    """``pid`` (default: this process) and every process above it."""
    pid = os.getpid() if pid is None else pid
    found: set[int] = set()
    while pid and pid not in found:
        found.add(pid)
        parent = _parent(pid)
        if parent is None:
            break
        pid = parent
    return found


def is_live(lease: Lease) -> bool:
    """True while the lease's process runs (on another host: assumed to, it cannot be seen)."""
    if lease.host != socket.gethostname():
        return True
    if not pids.alive(lease.pid):
        return False
    return not lease.start or start_time(lease.pid) in ("", lease.start)


def processes_inside(worktree: Path, *, ignore: set[int] | None = None) -> list[tuple[int, str]]:
    """Processes (pid, command name) whose working directory is ``worktree`` or below it.

    Linux only (``/proc/PID/cwd``); elsewhere an empty list. Processes in ``ignore`` (default:
    this process and its ancestors, which started the command) are left out.
    """
    skip = ancestors() if ignore is None else ignore
    root = os.path.realpath(worktree)
    found: list[tuple[int, str]] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append((int(entry), _command_name(entry)))
    return sorted(found)


def _command_name(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return "?"


# --- records ----------------------------------------------------------------------------------


def _folder(repo: RepoPaths) -> Path:
    return Path(repo.common_dir_str) / "ossa-hooks" / "leases"


def _key(worktree: Path | str) -> str:
    real = os.path.realpath(worktree)
    return hashlib.sha256(os.fsencode(real)).hexdigest()[:16]


def _record_path(repo: RepoPaths, worktree: Path | str) -> Path:
    return _folder(repo) / f"{_key(worktree)}.json"


@contextlib.contextmanager
def _locked(repo: RepoPaths) -> Iterator[None]:
    """Serialise lease changes of one repository (an flock, released when the process dies)."""
    import fcntl

    folder = _folder(repo)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise OssaError(f"{folder}: cannot record a lease: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _parse(path: Path) -> Lease | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Lease(**{k: data[k] for k in Lease.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


def _write(path: Path, lease: Lease) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(asdict(lease), indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OssaError(f"{path.parent}: cannot record a lease: {e.strerror}") from None


def read(repo: RepoPaths, worktree: Path | str) -> Lease | None:
    """The lease recorded for ``worktree`` (live or not), if any."""
    return _parse(_record_path(repo, worktree))


def all_leases(repo: RepoPaths) -> list[Lease]:
    """Every recorded lease of the repository, live or stale."""
    folder = _folder(repo)
    if not folder.is_dir():
        return []
    found = [_parse(p) for p in sorted(folder.glob("*.json"))]
    return [lease for lease in found if lease is not None]


# --- git's worktree lock ----------------------------------------------------------------------


def _admin_dir(worktree: Path) -> Path | None:
    """A linked worktree's admin folder in the common dir (None for the main worktree)."""
    found = git.admin_dir(worktree)
    return Path(found) if found is not None else None


def git_dir_of(worktree: Path) -> Path:
    """The worktree's own git dir (``.git`` of the main one, the admin folder of a linked one)."""
    return _admin_dir(worktree) or worktree / ".git"


def lock_reason(worktree: Path) -> str | None:
    """The reason git records for a locked linked worktree; None when it is not locked."""
    admin = _admin_dir(worktree)
    if admin is None:
        return None
    try:
        return (admin / "locked").read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError:
        return ""


def _git_lock(worktree: Path, reason: str) -> None:
    if _admin_dir(worktree) is None:
        return  # the main worktree cannot be locked; the lease record alone protects it
    current = lock_reason(worktree)
    if current is not None and not current.startswith(REASON_PREFIX):
        return  # locked by a person or another tool: leave their lock alone
    if current is not None:
        git.run(["worktree", "unlock", str(worktree)], worktree, check=False)
    git.run(["worktree", "lock", "--reason", reason, str(worktree)], worktree, check=False)


def _git_unlock(worktree: Path, reason: str) -> None:
    if lock_reason(worktree) == reason:
        git.run(["worktree", "unlock", str(worktree)], worktree, check=False)


# --- acquire and release ----------------------------------------------------------------------


def acquire(repo: RepoPaths, worktree: Path, holder: str, *, pid: int | None = None,
            agent_id: str = "", workflow_id: str = "", echo: Echo | None = None) -> Lease:
    """Take the lease of ``worktree`` for ``holder`` (process ``pid``, default this one).

    A live lease of another process (not this one or one of its ancestors) raises
    :class:`LeaseHeld` naming the holder; a stale one is taken over and ``echo`` says so.
    Taking a lease that this process (or an ancestor) already holds returns the held lease.
    """
    pid = os.getpid() if pid is None else pid
    worktree = Path(os.path.realpath(worktree))
    path = _record_path(repo, worktree)
    with _locked(repo):
        old = _parse(path)
        if old is not None and is_live(old):
            if old.pid in ancestors(pid):
                return old
            raise LeaseHeld(
                f"{worktree} is in use by {old.describe()}: wait for it to finish, or stop it "
                f"(`ossa-hooks agents terminate`, or end pid {old.pid})", 1)
        if old is not None and echo is not None:
            echo(f"ossa-hooks: took over the lease of {worktree} from {old.describe()} "
                 "(that process is gone)")
        lease = Lease(str(worktree), holder, pid, start_time(pid), socket.gethostname(),
                      time.time(), agent_id, workflow_id)
        _write(path, lease)
        _git_lock(worktree, lease.reason)
        if old is not None and old.reason != lease.reason:
            _git_unlock(worktree, old.reason)
    return lease


def release(repo: RepoPaths, lease: Lease) -> None:
    """Give the lease back, if it is still this one (a taken-over lease is not touched)."""
    path = _record_path(repo, lease.worktree)
    with _locked(repo):
        current = _parse(path)
        if current is None or (current.pid, current.start) != (lease.pid, lease.start):
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        _git_unlock(Path(lease.worktree), lease.reason)


@contextlib.contextmanager
def held(repo: RepoPaths, worktree: Path, holder: str, *, agent_id: str = "",
         workflow_id: str = "", echo: Echo | None = None) -> Iterator[Lease]:
    """Hold the lease while the block runs; given back even when the block fails. A lease this
    process's caller already held stays held."""
    lease = acquire(repo, worktree, holder, agent_id=agent_id, workflow_id=workflow_id,
                    echo=echo)
    mine = lease.pid == os.getpid()
    try:
        yield lease
    finally:
        if mine:
            release(repo, lease)


def forget(repo: RepoPaths, worktree: Path | str) -> None:
    """Drop the record of a worktree that is gone (after it was moved to the trash)."""
    with _locked(repo), contextlib.suppress(FileNotFoundError):
        _record_path(repo, worktree).unlink()


# --- may it be removed? -----------------------------------------------------------------------


def in_progress(worktree: Path) -> list[str]:
    """The git operations in progress in ``worktree`` (from the files git leaves)."""
    git_dir = git_dir_of(worktree)
    return [what for name, what in _IN_PROGRESS if (git_dir / name).exists()]


def live_use(repo: RepoPaths, worktree: Path, *, ignore: set[int] | None = None) -> list[str]:
    """Why ``worktree`` must not be removed now; an empty list when nothing uses it.

    ``ignore``: processes that do not count (default: this process and its ancestors).
    """
    worktree = Path(os.path.realpath(worktree))
    skip = ancestors() if ignore is None else ignore
    reasons: list[str] = []
    lease = read(repo, worktree)
    if lease is not None and is_live(lease) and lease.pid not in skip:
        reasons.append(f"leased by {lease.describe()}")
    for pid, name in processes_inside(worktree, ignore=skip):
        if lease is None or pid != lease.pid:
            reasons.append(f"process {pid} ({name}) is working in it")
    reasons.extend(in_progress(worktree))
    reason = lock_reason(worktree)
    if reason is not None and not reason.startswith(REASON_PREFIX):
        reasons.append(f"locked{': ' + reason if reason else ''}")
    return reasons


def stale(repo: RepoPaths) -> list[Lease]:
    """Recorded leases whose process is gone."""
    return [lease for lease in all_leases(repo) if not is_live(lease)]


def clear_stale(repo: RepoPaths) -> list[str]:
    """Remove stale leases and the git locks they left; one line per lease removed."""
    done: list[str] = []
    with _locked(repo):
        for lease in all_leases(repo):
            if is_live(lease):
                continue
            with contextlib.suppress(FileNotFoundError):
                _record_path(repo, lease.worktree).unlink()
            if Path(lease.worktree).is_dir():
                _git_unlock(Path(lease.worktree), lease.reason)
            done.append(f"{lease.worktree}: removed the stale lease of {lease.describe()}")
    return done


# --- doctor -----------------------------------------------------------------------------------


def doctor_check(repo: RepoPaths) -> list[Finding]:
    """``doctor``: live leases (for information) and stale ones (a problem ``--fix`` clears)."""
    from ossa_hooks.doctor import Finding

    found: list[Finding] = []
    for lease in all_leases(repo):
        if is_live(lease):
            found.append(Finding("ok", lease.worktree, f"leased by {lease.describe()}"))
        else:
            found.append(Finding("stale", lease.worktree,
                                 f"lease of {lease.describe()} outlived its process",
                                 "ossa-hooks doctor --fix"))
    return found


def doctor_fix(repo: RepoPaths) -> list[str]:
    return clear_stale(repo)
