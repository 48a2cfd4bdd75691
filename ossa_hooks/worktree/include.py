"""``.worktreeinclude``: the git-ignored files of the main worktree a new agent worktree needs
to run (``.env`` values, local config, dependency caches), carried over at ``worktree create``.

The file has gitignore syntax and is matched by git itself (``git ls-files --others --ignored
--exclude-from``); of what it lists, only files git ignores are copied (a tracked or merely
untracked file is the branch's business). Copies are copy-on-write where the file system can
(``FICLONE``, then ``copy_file_range``, then a plain copy: ``cp --reflink=auto``). Nothing is
read or written through a symlink that leads out of the repository: such a link is skipped, a
link inside it is recreated (an absolute one made relative, so it points into the new
worktree). The main worktree's ``.env`` is not copied as is: its values are merged into the
agent's own ``.env`` (the agent's ``OSSA_*`` values win; mode 0600).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from ossa_hooks import git

INCLUDE_FILE = ".worktreeinclude"
FICLONE = 0x40049409  # _IOW(0x94, 9, int), linux/fs.h
_OSSA_LINE = re.compile(r"^\s*(?:export\s+)?OSSA_[A-Za-z0-9_]*\s*=")


@dataclass(slots=True)
class Carried:
    """What ``carry_over`` did: relative paths copied, how, and what it left out and why."""

    copied: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cloned: int = 0  # files shared copy-on-write (FICLONE) rather than copied
    size: int = 0
    env: Path | None = None  # the main worktree's .env, to merge into the agent's

    def as_json(self) -> dict[str, object]:
        return {"copied": len(self.copied), "links": len(self.links), "cloned": self.cloned,
                "bytes": self.size, "env_merged": self.env is not None,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


def listed(main: Path) -> list[str]:
    """Paths (relative, ``/``-separated) of the ignored files ``.worktreeinclude`` lists."""
    rules = main / INCLUDE_FILE
    if not rules.is_file() or not _inside(main, rules):
        return []
    proc = git.run(["ls-files", "-z", "--others", "--ignored", f"--exclude-from={rules}"], main)
    # Folders git would not enter (nested repositories, other worktrees) end with '/'.
    wanted = [p for p in git.split_z(proc.stdout) if not p.endswith("/")]
    if not wanted:
        return []
    # Of those, the ones the repository's own ignore rules ignore (.gitignore, info/exclude,
    # core.excludesFile), as git decides it.
    data = b"".join(os.fsencode(p) + b"\0" for p in wanted)
    check = git.run(["check-ignore", "-z", "--stdin"], main, input=data, check=False)
    if check.returncode > 1:
        raise git.GitError(["check-ignore"], check.returncode,
                           check.stderr.decode("utf-8", "replace"))
    ignored = set(git.split_z(check.stdout))
    return [p for p in wanted if p in ignored]


def carry_over(main: Path, worktree: Path, *, env_file: str = ".env",
               skip: Collection[str] = ()) -> Carried:
    """Copy the files ``listed(main)`` gives into ``worktree``; a file already there is kept."""
    result = Carried()
    main_real = os.path.realpath(main)
    wt_real = os.path.realpath(worktree)
    prefixes = tuple(f"{s.rstrip('/')}/" for s in skip)
    # Folders checked once each: in the main worktree (None: no symlink on the way) and made
    # in the new one (True: a real folder there).
    sources: dict[str, str | None] = {"": None}
    targets: dict[str, bool] = {"": True}
    unavailable: set[str] = set()
    for rel in listed(main):
        if rel in skip or rel.startswith(prefixes):
            continue
        src = os.path.join(main_real, rel)
        parent = os.path.dirname(rel)
        if parent not in sources:
            sources[parent] = (None if os.path.realpath(os.path.join(main_real, parent))
                               == os.path.join(main_real, parent)
                               else "a folder on its path is a symlink")
        try:
            st = os.lstat(src)
        except OSError as e:
            result.skipped.append((rel, e.strerror or str(e)))
            continue
        why = sources[parent]
        if why is None and stat.S_ISLNK(st.st_mode) and not _inside(main_real, src):
            why = "symlink pointing outside the repository"
        if why:
            result.skipped.append((rel, why))
            continue
        if rel == env_file:
            result.env = Path(os.path.realpath(src))
            continue
        dst = os.path.join(wt_real, rel)
        if os.path.lexists(dst):
            result.skipped.append((rel, "already in the new worktree"))
            continue
        if not _make_parents(wt_real, parent, targets):
            result.skipped.append((rel, "its folder in the new worktree is a symlink"))
            continue
        try:
            if stat.S_ISLNK(st.st_mode):
                _relink(Path(main_real), Path(wt_real), rel)
                result.links.append(rel)
            elif stat.S_ISREG(st.st_mode):
                if copy_file(src, dst, st, unavailable):
                    result.cloned += 1
                result.copied.append(rel)
                result.size += st.st_size
            else:
                result.skipped.append((rel, "not a regular file or symlink"))
        except OSError as e:
            result.skipped.append((rel, e.strerror or str(e)))
    return result


def _inside(root: str | Path, path: str | Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _make_parents(wt_real: str, parent: str, known: dict[str, bool]) -> bool:
    """Create the folder ``parent`` (relative) in the worktree, refusing to go through a
    symlink; ``known`` remembers the answer for each folder on the way."""
    if parent in known:
        return known[parent]
    up = os.path.dirname(parent)
    ok = _make_parents(wt_real, up, known)
    if ok:
        here = os.path.join(wt_real, parent)
        try:
            st = os.lstat(here)
            ok = stat.S_ISDIR(st.st_mode)
        except FileNotFoundError:
            os.mkdir(here)
    known[parent] = ok
    return ok


def _relink(main_real: Path, wt_real: Path, rel: str) -> None:
    """The symlink ``rel`` again in the worktree; an absolute target into the main worktree
    becomes a relative one, so it points at the worktree's own copy."""
    target = os.readlink(main_real / rel)
    if os.path.isabs(target):
        resolved = os.path.realpath(main_real / rel)
        inner = os.path.relpath(resolved, main_real)
        target = os.path.relpath(wt_real / inner, (wt_real / rel).parent)
    os.symlink(target, wt_real / rel)


def copy_file(src: str | Path, dst: str | Path, st: os.stat_result,
              unavailable: set[str] | None = None) -> bool:
    """Copy one regular file like ``cp --reflink=auto -p``: True when it was cloned
    (copy-on-write, no data copied). Never follows a symlink at either end. ``unavailable``
    collects the ways of copying this file system refused, so the next file skips them."""
    fin = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                       stat.S_IMODE(st.st_mode) | stat.S_IWUSR)
        try:
            cloned = clone_fd(fin, fout, st.st_size, unavailable)
            os.fchmod(fout, stat.S_IMODE(st.st_mode))
            os.utime(fout, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            os.close(fout)
            os.unlink(dst)
            raise
        os.close(fout)
    finally:
        os.close(fin)
    return cloned


# errno values that mean "this way of copying is not available here": try the next one.
_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL,
                          errno.ENOSYS, errno.EBADF, errno.EPERM})


def clone_fd(fin: int, fout: int, size: int, unavailable: set[str] | None = None) -> bool:
    """``fin`` into ``fout``: a reflink (True), else ``copy_file_range`` (in-kernel, and
    copy-on-write on file systems that do it there), else read/write."""
    skip = set() if unavailable is None else unavailable
    if size == 0:
        return False
    if "clone" not in skip:
        try:
            import fcntl

            fcntl.ioctl(fout, FICLONE, fin)
            return True
        except (OSError, ImportError) as e:
            if isinstance(e, OSError) and e.errno not in _UNSUPPORTED:
                raise
            skip.add("clone")
    done = 0
    if "range" not in skip and hasattr(os, "copy_file_range"):
        try:
            while done < size:
                n = os.copy_file_range(fin, fout, size - done)
                if n == 0:
                    break
                done += n
        except OSError as e:
            if e.errno not in _UNSUPPORTED or done:
                raise
            skip.add("range")
    os.lseek(fin, done, os.SEEK_SET)
    os.lseek(fout, done, os.SEEK_SET)
    while chunk := os.read(fin, 1 << 20):
        os.write(fout, chunk)
    return False


def merge_env(source: Path, target: Path) -> int:
    """Put the main worktree's ``.env`` lines (all but its ``OSSA_*`` ones) before the agent's
    own ``.env`` (so its ``OSSA_*`` values stand, and are the last word for a shell that sources
    it); mode 0600. Returns how many variables were carried over."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    kept = [line for line in text.splitlines() if not _OSSA_LINE.match(line)]
    count = sum(1 for line in kept if "=" in line and not line.lstrip().startswith("#"))
    own = target.read_text(encoding="utf-8", errors="surrogateescape")
    merged = ("# From the main worktree's .env (listed in .worktreeinclude):\n"
              + "".join(f"{line}\n" for line in kept) + "\n" + own)
    tmp = target.with_name(f".{target.name}.ossa-tmp-{os.getpid()}")
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(out, 0o600)
        os.write(out, merged.encode("utf-8", "surrogateescape"))
    finally:
        os.close(out)
    os.replace(tmp, target)
    return count


def summary(result: Carried, env_keys: int | None) -> str | None:
    """One line for ``worktree create``; None when ``.worktreeinclude`` brought nothing."""
    parts = []
    if result.copied:
        how = f", {result.cloned} copy-on-write" if result.cloned else ""
        parts.append(f"copied {len(result.copied)} ignored file(s) ({_size(result.size)}{how})")
    if result.links:
        parts.append(f"{len(result.links)} symlink(s)")
    if env_keys is not None:
        parts.append(f"merged {env_keys} variable(s) of the main worktree's .env")
    if result.skipped:
        shown = "; ".join(f"{p}: {r}" for p, r in result.skipped[:3])
        more = f" and {len(result.skipped) - 3} more" if len(result.skipped) > 3 else ""
        parts.append(f"skipped {len(result.skipped)} ({shown}{more})")
    if not parts:
        return None
    return f"{INCLUDE_FILE}: " + ", ".join(parts)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"
