"""Temporary files of a snapshot or restore: a private index in the worktree's git dir,
its removal even when the process is interrupted, and the leftovers of killed runs (indexes,
git's ``tmp_pack_*`` files).

Imported by the hook path: standard library and ``ossa_hooks.pids`` only.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks import pids

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# Temporary files are named ``ossa-backup-<pid>-<token>.index`` inside the worktree's own git
# dir: a process killed before its ``finally`` ran leaves one whose pid is gone, and the next
# run removes it (git's own ``.lock`` beside it too).
TMP_PREFIX = "ossa-backup-"
STALE_SECONDS = 600.0


def stat_key(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def new_temp_index(git_dir: str, copy: bool) -> str:
    """A private copy of the worktree's index (or no index at all) in its git dir."""
    path = os.path.join(git_dir, f"{TMP_PREFIX}{os.getpid()}-{os.urandom(4).hex()}.index")
    if copy:
        try:
            with open(os.path.join(git_dir, "index"), "rb") as src:
                data = src.read()
        except FileNotFoundError:
            return path  # no index yet: git starts from an empty one
        try:
            with open(path, "wb") as dst:
                dst.write(data)
        except BaseException:
            remove_temp(path)
            raise
    return path


def remove_temp(path: str) -> None:
    for leftover in (path, path + ".lock"):
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            pass


def clean_stale(git_dir: str) -> None:
    """Remove temporary indexes (and their git locks) left by killed processes."""
    try:
        entries = list(os.scandir(git_dir))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX):
            continue
        pid_text = entry.name[len(TMP_PREFIX):].split("-", 1)[0]
        try:
            pid = int(pid_text)
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
        except (ValueError, OSError):
            continue
        if old or not pids.alive(pid):
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def raise_on_signals() -> Callable[[], None]:
    """Turn SIGTERM/SIGHUP into SystemExit so ``finally`` blocks run; returns the undo."""
    # The C module under `signal`, loaded at start-up: `signal` itself would import enum.
    sig = sys.modules.get("_signal") or __import__("_signal")

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous: list[tuple[int, object]] = []
    for num in (sig.SIGTERM, sig.SIGHUP):
        try:
            previous.append((num, sig.signal(num, handler)))
        except (ValueError, OSError):  # not the main thread
            break

    def undo() -> None:
        for num, old in previous:
            sig.signal(num, old)

    return undo




# --- git's own temporary packs ----------------------------------------------------------------


def tmp_packs(common_dir: str) -> set[str]:
    """Names of the ``tmp_pack_*`` files in ``objects/pack`` now."""
    try:
        return {n for n in os.listdir(os.path.join(common_dir, "objects", "pack"))
                if n.startswith("tmp_")}
    except OSError:
        return set()


def remove_new_packs(common_dir: str, before: set[str]) -> list[str]:
    """Remove the ``tmp_pack_*`` files a failed ``git add`` left (new since ``before``, and
    open in no process: a concurrent fetch's are left alone). Returns the names removed."""
    new = tmp_packs(common_dir) - before
    if not new:
        return []
    folder = os.path.join(common_dir, "objects", "pack")
    in_use = open_files()
    removed = []
    for name in sorted(new):
        path = os.path.join(folder, name)
        if os.path.realpath(path) in in_use:
            continue
        try:
            os.unlink(path)
            removed.append(name)
        except OSError:
            pass
    return removed


def open_files() -> set[str]:
    """Every file some process has open (from /proc; empty where there is none)."""
    found: set[str] = set()
    try:
        procs = os.listdir("/proc")
    except OSError:
        return found
    for pid in procs:
        if not pid.isdigit():
            continue
        folder = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(folder)
        except OSError:
            continue
        for fd in fds:
            try:
                found.add(os.readlink(f"{folder}/{fd}"))
            except OSError:
                pass
    return found
