"""``backup watch``: snapshot a worktree whenever its files change, so a forced checkout, a
``git reset --hard`` or an ``rm -rf`` costs at most the last few seconds of work.

A real file watcher (``watchfiles``: inotify on Linux, no polling), debounced: a burst of
writes makes one snapshot once the files have been quiet for ``debounce_seconds``. A snapshot
equal to the newest one of the worktree is not made again. The watcher exits after
``idle_minutes`` without a change, when the worktree is gone (moved to the trash), or on
SIGTERM/SIGINT. One watcher per worktree: it holds an ``flock`` on its record
(``<git common dir>/ossa-hooks/watch/<key>.json``), which ``doctor`` reads to list the live ones.
Its working directory is ``/``, never the worktree, so it does not count as a
process working in it (cleanup would refuse otherwise).

Agents: :func:`start_for` is what the agent runner calls for an agent's worktree. People:
``backup.watch.enabled: true`` makes the post-checkout hook start one for the worktree.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.config import Config
    from ossa_hooks.doctor import Finding

Echo = Callable[[str], None]


def _folder(repo: git.RepoPaths) -> Path:
    return Path(repo.state_dir_str) / "watch"


def _record(repo: git.RepoPaths, worktree: str) -> Path:
    key = hashlib.sha256(os.fsencode(os.path.realpath(worktree))).hexdigest()[:16]
    return _folder(repo) / f"{key}.json"


@contextlib.contextmanager
def _claim(repo: git.RepoPaths, worktree: str) -> Iterator[Path]:
    """Hold the worktree's watcher record (an flock); OssaError when another watcher has it."""
    import fcntl

    path = _record(repo, worktree)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OssaError(f"{worktree} is watched already ({running_info(path)})") from None
        data = json.dumps({"worktree": os.path.realpath(worktree), "pid": os.getpid(),
                           "since": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        yield path
    finally:
        os.close(fd)  # the record stays; its lock is what says "running"


def running_info(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {data.get('pid')}"
    except (OSError, ValueError):
        return "pid ?"


def is_running(path: Path) -> bool:
    """True while a watcher holds ``path``'s lock."""
    from ossa_hooks import pids

    return pids.lock_held(path)


def watchers(repo: git.RepoPaths) -> list[tuple[dict[str, object], bool]]:
    """Every watcher record: its data and whether that watcher runs now."""
    found = []
    folder = _folder(repo)
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            data = {}
        found.append(({**data, "record": str(path)}, is_running(path)))
    return found


# --- the watcher ----------------------------------------------------------------------------


def watch(repo: git.RepoPaths, *, debounce_seconds: float = 2.0, idle_minutes: float = 30.0,
          echo: Echo | None = None, config: Config | None = None) -> int:
    """Watch ``repo``'s worktree until idle, gone or stopped; returns the snapshots made."""
    import watchfiles

    worktree = repo.toplevel_str
    if worktree is None:
        raise OssaError("this is a bare repository: run this inside a worktree")
    say = echo or (lambda _line: None)
    made = 0
    idle_ms = max(int(idle_minutes * 60_000), 1000)
    with _claim(repo, worktree):
        os.chdir("/")  # not a process "working in" the worktree (the main one holds .git)
        say(f"watching {worktree} (debounce {debounce_seconds:g} s, exits after"
            f" {idle_minutes:g} min idle)")
        quiet_since = time.monotonic()
        git_dir = os.path.realpath(repo.git_dir_str)
        # What changed before the watch began is saved now, and once more on the first wake-up
        # (a change or the first time-out): that covers the moment the watch was being set up.
        made += _save(worktree, config, say, "at start")
        first = True
        for changes in watchfiles.watch(worktree, debounce=int(debounce_seconds * 1000),
                                        rust_timeout=min(idle_ms, 60_000),
                                        yield_on_timeout=True, raise_interrupt=False):
            if not os.path.isdir(worktree):
                say(f"{worktree} is gone: stopping")
                break
            real = [p for _c, p in changes if not p.startswith(git_dir)]
            if first:
                first = False
                if not real:
                    made += _save(worktree, config, say, "after the watch began")
            if not real:
                if time.monotonic() - quiet_since > idle_minutes * 60:
                    say(f"no change for {idle_minutes:g} min: stopping")
                    break
                continue
            quiet_since = time.monotonic()
            made += _save(worktree, config, say, f"{len(real)} change(s)")
    return made


def _save(worktree: str, config: Config | None, say: Echo, why: str) -> int:
    """One snapshot of ``worktree`` (none when it equals the newest); 1 when one was made."""
    from ossa_hooks.backup import snapshot

    try:
        name = snapshot.snapshot(git.repo_paths(worktree), hook="watch", config=config)
    except OssaError as e:  # a failed snapshot is said; watching goes on
        say(f"{e.message}")
        return 0
    if name is None:
        return 0
    say(f"saved {name} ({why})")
    return 1


# --- starting one in the background -----------------------------------------------------------

_CODE = ("import sys; del sys.path[0]; from ossa_hooks.backup.watch import _main;"
         " sys.exit(_main(sys.argv[1:]))")


def start_for(worktree: str | os.PathLike[str], *, debounce_seconds: float = 2.0,
              idle_minutes: float = 30.0) -> int | None:
    """Start a detached watcher for ``worktree`` unless one runs; its pid, or None.

    The agent runner calls this for an agent's worktree; the post-checkout hook for a
    person's when ``backup.watch.enabled`` is on. Output goes to ``ossa-hooks/watch.log``.
    """
    repo = git.repo_paths(worktree)
    if repo.toplevel_str is None or is_running(_record(repo, repo.toplevel_str)):
        return None
    folder = _folder(repo)
    folder.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-c", _CODE, repo.toplevel_str, str(debounce_seconds),
            str(idle_minutes)]
    fds = [os.open(os.devnull, os.O_RDONLY),
           os.open(folder / "watch.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)]
    try:
        return os.posix_spawn(sys.executable, argv, git.no_git_env(), setsid=True,
                              file_actions=[(os.POSIX_SPAWN_DUP2, fds[0], 0),
                                            (os.POSIX_SPAWN_DUP2, fds[1], 1),
                                            (os.POSIX_SPAWN_DUP2, fds[1], 2)])
    finally:
        for fd in fds:
            os.close(fd)


def start_from_hook(repo: git.RepoPaths, config: Config) -> None:
    """post-checkout: start the worktree's watcher when ``backup.watch.enabled``."""
    if not config.get("backup.watch.enabled") or repo.toplevel_str is None:
        return
    with contextlib.suppress(OSError, OssaError):
        start_for(repo.toplevel_str,
                  debounce_seconds=float(config.get("backup.watch.debounce_seconds")),
                  idle_minutes=float(config.get("backup.watch.idle_minutes")))


def _main(argv: list[str]) -> int:
    """The detached watcher: ``WORKTREE DEBOUNCE_SECONDS IDLE_MINUTES``."""
    worktree, debounce, idle = argv[0], float(argv[1]), float(argv[2])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")

    def echo(line: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {worktree}: {line}", flush=True)

    try:
        watch(git.repo_paths(worktree), debounce_seconds=debounce, idle_minutes=idle,
              echo=echo)
    except OssaError as e:
        print(f"{stamp} {worktree}: {e.message}", flush=True)
        return 1
    return 0


# --- doctor -------------------------------------------------------------------------------


def doctor_check(repo: git.RepoPaths) -> list[Finding]:
    """``doctor``: the watchers running now (for information) and records of dead ones."""
    from ossa_hooks.doctor import Finding

    found: list[Finding] = []
    for data, live in watchers(repo):
        where = str(data.get("worktree", data["record"]))
        if live:
            found.append(Finding("ok", where, f"backup watch running (pid {data.get('pid')})"))
        else:
            found.append(Finding("note", where, "backup watch not running (it stopped when idle;"
                                 " `ossa-hooks backup watch` starts one)"))
    return found
