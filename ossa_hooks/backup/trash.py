"""The trash: where removed worktrees go instead of being deleted.

A worktree leaves by two renames on the same file system (no copy, no walk): its folder, with
everything in it (ignored files, nested repositories, unreadable files), goes to
``<git common dir>/ossa-hooks/trash/<ID>/tree``, and git's record of it
(``<git common dir>/worktrees/<NAME>``: its HEAD, index, lock) to ``<ID>/admin``. ``restore``
renames both back and the worktree is registered again, index and all. ``meta.json`` says
where it came from; it is written before anything moves, so a run killed half-way is finished
by the next one (:func:`recover`).

Retention (``backup.trash.keep_days``, ``backup.trash.max_size_mb``) is applied after every
removal; the entry just added is never the one that goes. Nothing here follows a symlink: a
rename moves a link itself, deletion never descends into one, and a restore refuses a target
whose folder is reached through a symlink somewhere else than where it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import time
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.doctor import Finding

TREE = "tree"
ADMIN = "admin"
META = "meta.json"


@dataclass(frozen=True, slots=True)
class Entry:
    """One removed worktree in the trash."""

    id: str
    path: str  # where it was
    parent_real: str  # the real path of its parent folder then (symlinks resolved)
    admin_name: str  # its name under <common dir>/worktrees, "" for a plain folder
    branch: str  # the branch it had checked out, "" when detached
    head: str  # the commit it was at
    reason: str
    time: float
    size: int | None = None  # bytes, computed lazily by retention and list
    complete: bool = False

    def age_days(self, now: float | None = None) -> float:
        return ((time.time() if now is None else now) - self.time) / 86400


def folder(repo: git.RepoPaths) -> Path:
    return repo.state_dir / "trash"


def _entry_dir(repo: git.RepoPaths, entry_id: str) -> Path:
    if not entry_id or "/" in entry_id or entry_id.startswith("."):
        raise OssaError(f"no trash entry {entry_id!r} (`ossa-hooks trash list` shows them)")
    return folder(repo) / entry_id


def _write_meta(where: Path, entry: Entry) -> None:
    tmp = where / f".{META}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(entry), indent=2), encoding="utf-8")
    os.replace(tmp, where / META)


def _read_meta(where: Path) -> Entry | None:
    try:
        data = json.loads((where / META).read_text(encoding="utf-8"))
        return Entry(**{k: data[k] for k in Entry.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


def admin_dir(worktree: Path) -> Path | None:
    """A linked worktree's record in the common dir (``git.admin_dir``), as a Path."""
    found = git.admin_dir(worktree)
    return Path(found) if found is not None else None


# --- put ----------------------------------------------------------------------------------


def put(repo: git.RepoPaths, worktree: Path, *, reason: str, config: Config | None = None,
        branch: str = "", head: str = "") -> Entry:
    """Move ``worktree`` (a linked worktree or a plain folder) into the trash; returns its entry.

    Two renames; a worktree on another file system than the git common dir is refused (a
    copy could fail half-way and is not a move). Retention runs afterwards.
    """
    worktree = Path(os.path.abspath(worktree))
    if worktree.is_symlink() or not worktree.is_dir():
        raise OssaError(f"{worktree} is not a folder: nothing to move to the trash")
    recover(repo)
    admin = admin_dir(worktree)
    common_worktrees = (repo.common_dir / "worktrees").resolve()
    if admin is not None and admin.resolve().parent != common_worktrees:
        admin = None  # another repository's worktree, or a broken link: move the folder only
    base = folder(repo)
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    entry_id = f"{stamp}-{worktree.name[-60:]}-{os.urandom(3).hex()}"
    where = base / entry_id
    where.mkdir()
    entry = Entry(entry_id, str(worktree), os.path.realpath(worktree.parent),
                  admin.name if admin is not None else "", branch, head, reason, time.time())
    _write_meta(where, entry)
    try:
        os.rename(worktree, where / TREE)
    except OSError as e:
        shutil.rmtree(where, ignore_errors=True)
        if e.errno == 18:  # EXDEV
            raise OssaError(
                f"{worktree} is on another file system than {repo.common_dir}: it cannot be"
                " moved to the trash; move it by hand, then run `git worktree prune`",
                code=EXIT_FAILED) from None
        raise OssaError(f"cannot move {worktree} to the trash: {e.strerror}",
                        code=EXIT_FAILED) from None
    if admin is not None and admin.is_dir():
        os.rename(admin, where / ADMIN)
    entry = _replace(entry, complete=True)
    _write_meta(where, entry)
    if config is not None:
        apply_retention(repo, config, keep=(entry_id,))
    return entry


def _replace(entry: Entry, **changes: object) -> Entry:
    return Entry(**{**asdict(entry), **changes})


def recover(repo: git.RepoPaths) -> list[str]:
    """Finish moves a killed run left half-done; one line per entry repaired."""
    done: list[str] = []
    for where in _entry_dirs(repo):
        entry = _read_meta(where)
        if entry is None or entry.complete:
            continue
        if not (where / TREE).exists():
            if Path(entry.path).exists():  # killed before the folder moved: nothing happened
                shutil.rmtree(where, ignore_errors=True)
                done.append(f"{entry.path}: an unfinished move to the trash was undone")
            continue
        admin = repo.common_dir / "worktrees" / entry.admin_name
        if entry.admin_name and admin.is_dir() and not (where / ADMIN).exists():
            os.rename(admin, where / ADMIN)
        _write_meta(where, _replace(entry, complete=True))
        done.append(f"{entry.path}: finished its move to the trash ({entry.id})")
    return done


# --- reading ------------------------------------------------------------------------------


def _entry_dirs(repo: git.RepoPaths) -> list[Path]:
    try:
        return sorted(p for p in folder(repo).iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def entries(repo: git.RepoPaths, *, sizes: bool = False) -> list[Entry]:
    """Every entry of the trash, oldest first; ``sizes``: compute the missing sizes."""
    found = []
    for where in _entry_dirs(repo):
        entry = _read_meta(where)
        if entry is None:
            continue
        if sizes and entry.size is None and entry.complete:
            entry = _replace(entry, size=_size(where))
            with contextlib.suppress(OSError):
                _write_meta(where, entry)
        found.append(entry)
    found.sort(key=lambda e: (e.time, e.id))
    return found


def _size(root: Path) -> int:
    """Bytes on disk below ``root`` (symlinks counted as themselves, never followed)."""
    total = 0
    for here, dirs, files in os.walk(root):
        for name in files + dirs:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(here, name))
                total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total


def find(repo: git.RepoPaths, entry_id: str) -> Entry:
    """The entry ``entry_id``, or the only entry whose id or path ends with it."""
    all_entries = entries(repo)
    exact = [e for e in all_entries if e.id == entry_id]
    if exact:
        return exact[0]
    matches = [e for e in all_entries if entry_id in e.id or e.path.endswith(entry_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise OssaError(f"{entry_id!r} names {len(matches)} trash entries: give a full ID"
                        f" ({', '.join(e.id for e in matches[:3])})")
    raise OssaError(f"no trash entry {entry_id!r} (`ossa-hooks trash list` shows them)")


# --- restore ------------------------------------------------------------------------------


def restore(repo: git.RepoPaths, entry_id: str, *, to: Path | None = None) -> tuple[Path, str]:
    """Put an entry back where it was (or at ``to``) and register the worktree again.

    Returns the path and a note (empty, or how HEAD was set when its branch moved meanwhile).
    """
    entry = find(repo, entry_id)
    where = _entry_dir(repo, entry.id)
    target = Path(os.path.abspath(to if to is not None else entry.path))
    if os.path.lexists(target):
        raise OssaError(f"{target} exists: move it away, or restore elsewhere with --to PATH")
    parent = target.parent
    if to is None and os.path.realpath(parent) != entry.parent_real:
        raise OssaError(f"{parent} now leads to {os.path.realpath(parent)} (a symlink), not to"
                        f" {entry.parent_real}: restore with --to PATH")
    if not (where / TREE).is_dir():
        raise OssaError(f"trash entry {entry.id} holds no folder (incomplete); see"
                        f" {where}", code=EXIT_FAILED)
    parent.mkdir(parents=True, exist_ok=True)
    note = ""
    admin_src = where / ADMIN
    if admin_src.is_dir():
        admin = _free_admin_name(repo, entry.admin_name or target.name)
        admin.parent.mkdir(parents=True, exist_ok=True)
        os.rename(admin_src, admin)
        os.rename(where / TREE, target)
        (admin / "gitdir").write_text(f"{target / '.git'}\n", encoding="utf-8")
        (target / ".git").write_text(f"gitdir: {admin}\n", encoding="utf-8")
        _drop_our_lock(admin)
        note = _settle_head(repo, entry, admin, target)
        git.run(["worktree", "repair", str(target)], repo.common_dir, check=False)
    else:
        os.rename(where / TREE, target)
    shutil.rmtree(where, ignore_errors=True)
    return target, note


def _free_admin_name(repo: git.RepoPaths, name: str) -> Path:
    base = repo.common_dir / "worktrees"
    candidate = base / name
    n = 1
    while os.path.lexists(candidate):
        n += 1
        candidate = base / f"{name}{n}"
    return candidate


def _drop_our_lock(admin: Path) -> None:
    """A lease's ``git worktree lock`` travelled with the record; its holder is gone."""
    lock = admin / "locked"
    with contextlib.suppress(OSError):
        if lock.read_text(encoding="utf-8", errors="replace").startswith("ossa-hooks: "):
            lock.unlink()


def _settle_head(repo: git.RepoPaths, entry: Entry, admin: Path, target: Path) -> str:
    """The restored worktree's branch: recreated when it was deleted; when it moved on or is
    checked out elsewhere, the worktree is detached at the commit it had."""
    if not entry.branch or not entry.head:
        return ""
    ref = f"refs/heads/{entry.branch}"
    cwd = repo.common_dir
    proc = git.run(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], cwd, check=False)
    tip = proc.stdout.decode().strip()
    if proc.returncode != 0:
        git.run(["update-ref", "-m", "ossa-hooks: trash restore", ref, entry.head, ""], cwd)
        return f"branch {entry.branch} was deleted: recreated at {entry.head[:10]}"
    elsewhere = [p for p in _checked_out(cwd, ref) if os.path.realpath(p) !=
                 os.path.realpath(target)]
    if tip == entry.head and not elsewhere:
        return ""
    (admin / "HEAD").write_text(entry.head + "\n", encoding="ascii")
    why = f"checked out in {elsewhere[0]}" if elsewhere else f"now at {tip[:10]}"
    return (f"branch {entry.branch} is {why}: the worktree is detached at {entry.head[:10]},"
            " as it was")


def _checked_out(cwd: Path, ref: str) -> list[str]:
    data = git.run(["worktree", "list", "--porcelain", "-z"], cwd).stdout
    found = []
    for record in data.split(b"\0\0"):
        fields = git.split_z(record)
        if f"branch {ref}" in fields and fields and fields[0].startswith("worktree "):
            found.append(fields[0][len("worktree "):])
    return found


# --- empty and retention --------------------------------------------------------------------


def _delete(where: Path) -> None:
    """Delete an entry for good, unreadable folders included; never through a symlink."""
    def allow(func: object, path: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            parent = os.path.dirname(path)
            os.chmod(parent, stat.S_IRWXU)
            if not os.path.islink(path) and os.path.isdir(path):
                os.chmod(path, stat.S_IRWXU)
                shutil.rmtree(path, onerror=allow)
            else:
                os.unlink(path)

    shutil.rmtree(where, onerror=allow)


def empty(repo: git.RepoPaths, ids: Sequence[str] = ()) -> list[Entry]:
    """Delete the named entries for good (all entries when none is named)."""
    chosen = [find(repo, i) for i in ids] if ids else entries(repo)
    for entry in chosen:
        _delete(_entry_dir(repo, entry.id))
    return chosen


def over_retention(repo: git.RepoPaths, config: Config, *,
                   keep: Sequence[str] = ()) -> list[tuple[Entry, str]]:
    """Entries retention would delete, with why: older than ``keep_days``, then the oldest
    while the total exceeds ``max_size_mb``. Entries in ``keep`` are never chosen."""
    days = float(config.get("backup.trash.keep_days"))
    max_bytes = float(config.get("backup.trash.max_size_mb")) * 1024 * 1024
    now = time.time()
    all_entries = [e for e in entries(repo, sizes=True) if e.complete]
    doomed: list[tuple[Entry, str]] = []
    left = []
    for e in all_entries:
        if e.id not in keep and e.age_days(now) > days:
            doomed.append((e, f"older than {days:g} days"))
        else:
            left.append(e)
    total = sum(e.size or 0 for e in left)
    for e in left:  # oldest first
        if total <= max_bytes:
            break
        if e.id in keep:
            continue
        doomed.append((e, f"the trash holds more than {max_bytes / 1048576:g} MB"))
        total -= e.size or 0
    return doomed


def apply_retention(repo: git.RepoPaths, config: Config, *,
                    keep: Sequence[str] = ()) -> list[str]:
    """Delete what retention says may go; one line per entry deleted."""
    done = []
    for entry, why in over_retention(repo, config, keep=keep):
        _delete(_entry_dir(repo, entry.id))
        done.append(f"{entry.path}: trash entry {entry.id} deleted ({why})")
    return done


# --- doctor -------------------------------------------------------------------------------


def _config(repo: git.RepoPaths) -> Config:
    from ossa_hooks import config as config_mod

    return config_mod.load(repo.toplevel)


def doctor_check(repo: git.RepoPaths) -> list[Finding]:
    """``doctor``: what the trash holds, entries retention would delete, unfinished moves."""
    from ossa_hooks.doctor import Finding

    where = str(folder(repo))
    all_entries = entries(repo, sizes=True)
    found: list[Finding] = []
    for e in all_entries:
        if not e.complete:
            found.append(Finding("problem", e.path, f"an unfinished move to the trash ({e.id})",
                                 "ossa-hooks doctor --fix"))
    try:
        doomed = over_retention(repo, _config(repo))
    except OssaError as err:
        return [*found, Finding("problem", where, err.message)]
    for e, why in doomed:
        found.append(Finding("stale", e.path, f"trash entry {e.id} is due for deletion ({why})",
                             "ossa-hooks doctor --fix"))
    total = sum(e.size or 0 for e in all_entries)
    found.append(Finding("ok", where, f"trash: {len(all_entries)} worktree(s),"
                         f" {total / 1048576:.1f} MB (`ossa-hooks trash list`)"))
    return found


def doctor_fix(repo: git.RepoPaths) -> list[str]:
    return recover(repo) + apply_retention(repo, _config(repo))
