"""Whether a process or a process group still exists (for stale locks, runs and agents).

A process that has exited but was not reaped yet (a zombie: its parent died and the system's
first process has not collected it) no longer runs: it does not count as alive.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a process we may not signal still runs)."""
    return _probe(os.kill, pid) and _state(str(pid)) != "Z"


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` runs."""
    if not _probe(os.killpg, pgid):
        return False
    states = _group_states(pgid)
    return states is None or any(s != "Z" for s in states)


def _probe(send: Callable[[int, int], None], ident: int) -> bool:
    try:
        send(ident, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat_fields(pid: str) -> list[bytes] | None:
    """``/proc/PID/stat`` after the command name: state, ppid, pgrp, ...; None without it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def _state(pid: str) -> str | None:
    fields = _stat_fields(pid)
    return fields[0].decode() if fields else None


def _group_states(pgid: int) -> list[str] | None:
    """The states of the processes of group ``pgid``, from /proc; None where there is none."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    states = []
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields and len(fields) > 2 and fields[2] == str(pgid).encode():
            states.append(fields[0].decode())
    return states


def lock_held(path: str | os.PathLike[str]) -> bool:
    """True while some process holds an ``flock`` on ``path`` (a missing or unopenable file
    is held by nobody). The lock dies with its process, so this is liveness too."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
