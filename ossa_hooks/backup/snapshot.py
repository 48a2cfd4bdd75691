"""Snapshots of uncommitted work: the ``backup/*`` branches, their push, restore, prune and
conflict parking.

A snapshot is one commit holding the whole working tree as it is (staged and unstaged changes,
deletions, untracked files that are not ignored) with HEAD as parent. It is built in a
temporary index (``GIT_INDEX_FILE``), so the user's index, working tree and HEAD are never
touched, and stored with ``update-ref`` in create-only mode, so concurrent writers never
overwrite each other. The hook action is in :mod:`ossa_hooks.backup.hook`, which comes here
only when the tree holds something to save; this module then imports only the standard
library and ``ossa_hooks.git`` at the top.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks import git
from ossa_hooks import pids
from ossa_hooks.backup.hook import certainly_clean
from ossa_hooks.errors import OssaError

# The hook path imports nothing else at the top: pathlib, typing, contextlib and friends
# cost as much as the git work of a small snapshot.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    import types
    from collections.abc import Callable
    from collections.abc import Sequence
    from pathlib import Path

    from ossa_hooks.config import Config

REF_PREFIX = "refs/heads/"
NAMESPACE = "backup/"
AUTO = "auto-save-"
CONFLICT = "conflict-"

# Temporary files are named ``ossa-backup-<pid>-<token>.index`` inside the worktree's own git
# dir: a process killed before its ``finally`` ran leaves one whose pid is gone, and the next
# run removes it (git's own ``.lock`` beside it too).
TMP_PREFIX = "ossa-backup-"
STALE_SECONDS = 600.0

# Trailer keys of a snapshot's message: where it came from.
K_WORKTREE = "Worktree"
K_BRANCH = "Branch"
K_HOOK = "Hook"
K_TIME = "Time"
K_REASON = "Reason"

# `add` streams every new blob into one pack (git's bulk check-in for "big" files) instead of
# one loose object file each: several times faster when hundreds of files changed, the same
# for a few. --ignore-errors: an unreadable file must not cost the rest of the snapshot.
_ADD_ARGS = ["-c", "core.bigFileThreshold=1", "add", "-A", "--ignore-errors"]

_FALLBACK_IDENT = {
    "GIT_AUTHOR_NAME": "ossa-hooks",
    "GIT_AUTHOR_EMAIL": "ossa-hooks@localhost",
    "GIT_COMMITTER_NAME": "ossa-hooks",
    "GIT_COMMITTER_EMAIL": "ossa-hooks@localhost",
}

_FORMAT = "%00".join(
    (
        "%(refname)",
        "%(objectname)",
        "%(tree)",
        "%(parent)",
        "%(committerdate:unix)",
        "%(subject)",
        "%(trailers:only,unfold)",
    )
) + "%00%1e"


class Snapshot:
    """One ``backup/*`` branch as read from its commit."""

    __slots__ = ("branch", "commit", "hook", "parents", "reason", "subject", "time", "tree",
                 "worktree", "worktree_branch")

    def __init__(self, branch: str, commit: str, tree: str, parents: tuple[str, ...],
                 time: float, subject: str, trailers: dict[str, str]) -> None:
        self.branch = branch
        self.commit = commit
        self.tree = tree
        self.parents = parents
        self.time = time
        self.subject = subject
        self.worktree = trailers.get(K_WORKTREE, "")
        self.worktree_branch = trailers.get(K_BRANCH, "")
        self.hook = trailers.get(K_HOOK, "")
        self.reason = trailers.get(K_REASON, "")

    def __repr__(self) -> str:
        return f"Snapshot({self.branch} {self.commit[:12]})"

    @property
    def kind(self) -> str:
        """``auto-save`` or ``conflict`` (or ``other`` for a hand-made ``backup/`` branch)."""
        rest = self.branch[len(NAMESPACE):]
        for prefix in (AUTO, CONFLICT):
            if rest.startswith(prefix):
                return prefix.rstrip("-")
        return "other"

    @property
    def parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    def sort_key(self) -> tuple[float, int, str]:
        """Newest last: commit time, then the ``-N`` suffix of a same-second name."""
        tail = self.branch.rsplit("-", 1)[-1]
        suffix = int(tail) if len(tail) < 6 and tail.isdigit() else 1
        return (self.time, suffix, self.branch)


# --- the snapshot ---------------------------------------------------------------------------


def snapshot(
    repo: git.RepoPaths,
    *,
    hook: str,
    message: str | None = None,
    config: Config | None = None,
    check_clean: bool = True,
    patches: Sequence[str] = (),
) -> str | None:
    """Save the working tree of ``repo.worktree`` on a new ``backup/auto-save-*`` branch.

    Returns the branch name, or None when there was nothing to save: a clean tree, or the same
    tree as the newest snapshot of this worktree. Never prompts. ``check_clean=False``: the
    caller has just asked ``backup_hook.certainly_clean`` (and the tree was not).
    ``patches``: changes to add on top of the working tree (the unstaged changes the
    pre-commit framework stashed while its hooks run).
    """
    saved = _save(repo, kind=AUTO, hook=hook, subject=message, dedupe=True,
                  check_clean=check_clean, patches=patches)
    if saved is not None:
        _maybe_push(repo, saved, config)
    return saved


def park(repo: git.RepoPaths, *, reason: str, config: Config | None = None) -> str:
    """Move a failed merge's state onto ``backup/conflict-*`` and abort the merge.

    The snapshot holds the conflicted files with their markers and has HEAD and the merged
    commit(s) as parents; afterwards the worktree is as it was before the merge began.
    """
    try:
        with open(os.path.join(repo.git_dir_str, "MERGE_HEAD"), encoding="ascii") as f:
            merged = f.read().split()
    except FileNotFoundError:
        raise OssaError("no merge in progress here (no MERGE_HEAD): nothing to park") from None
    title = _merge_title(repo)
    subject = f"conflict parked: {title}" if title else "conflict parked"
    name = _save(repo, kind=CONFLICT, hook="park", subject=subject, dedupe=False,
                 extra_parents=tuple(merged), reason=reason)
    if name is None:  # pragma: no cover - a merge in progress always has extra parents
        raise OssaError("nothing to park: the worktree equals HEAD")
    proc = git.run(["merge", "--abort"], _worktree(repo), check=False)
    if proc.returncode != 0:
        raise OssaError(
            f"the conflict is saved on {name}, but `git merge --abort` failed"
            f" ({_git_complaint(proc)}): resolve it by hand"
        )
    _maybe_push(repo, name, config)
    return name


def _worktree(repo: git.RepoPaths) -> str:
    if repo.toplevel_str is None:
        raise OssaError("this is a bare repository: run this inside a worktree")
    return repo.toplevel_str


def _save(
    repo: git.RepoPaths,
    *,
    kind: str,
    hook: str,
    subject: str | None,
    dedupe: bool,
    extra_parents: tuple[str, ...] = (),
    reason: str = "",
    check_clean: bool = False,
    patches: Sequence[str] = (),
) -> str | None:
    worktree = _worktree(repo)
    _clean_stale(repo.git_dir_str)  # also when there is nothing to save
    if check_clean and certainly_clean(worktree):
        return None
    env = git.no_git_env()
    # Read-only questions run while `add` hashes the worktree: HEAD, and (once `add` shows
    # the tree is dirty) the snapshots to compare with.
    head_proc = git.start(["rev-parse", "-q", "HEAD^{commit}", "HEAD^{tree}"], worktree)
    refs_proc = None
    undo = _raise_on_signals()
    index = ""
    try:
        index = _new_temp_index(repo.git_dir_str, copy=True)
        env["GIT_INDEX_FILE"] = index
        before = _stat_key(index)
        add = git.call(_ADD_ARGS, worktree, env=env, check=False)
        for patch in patches:
            applied = git.call(["apply", "--cached", "--whitespace=nowarn", patch], worktree,
                               env=env, check=False)
            if applied.returncode != 0:
                print(f"ossa-hooks: backup: the stashed unstaged changes ({patch}) could not"
                      " be added to the snapshot", file=sys.stderr)
        if dedupe and _stat_key(index) != before:  # `add` changed something: likely a snapshot
            refs_proc = git.start(_SNAPSHOTS_ARGS, repo.common_dir_str)
        tree_proc = git.call(["write-tree"], worktree, env=env, check=False)
        head, head_tree = _parse_head(git.finish(head_proc, check=False))
        refs = git.finish(refs_proc).stdout if refs_proc is not None else None
    finally:
        for proc in (head_proc, refs_proc):
            if proc is not None:  # no-op once finished; after an interruption, stops it
                git.cancel(proc)
        if index:
            _remove_temp(index)
        undo()
    if tree_proc.returncode != 0:
        # Only now is a failed `add` the cause worth reporting.
        failed, args = (add, ["add", "-A"]) if add.returncode != 0 else (tree_proc, ["write-tree"])
        raise git.GitError(args, failed.returncode, failed.stderr.decode("utf-8", "replace"))
    tree = tree_proc.stdout.decode().strip()
    if head_tree is None:
        head_tree = _empty_tree(worktree)
    if tree == head_tree and not extra_parents:
        return None
    if dedupe:
        snaps = _parse_snapshots(refs) if refs is not None else snapshots(repo)
        newest = _newest_of(snaps, worktree, AUTO)
        if newest is not None and newest.tree == tree:
            return None
    now = time.time()
    branch = _current_branch(repo.git_dir_str, head)
    message = _message(subject or f"{kind.rstrip('-')} ({hook}) of {branch} in {worktree}",
                       worktree=worktree, branch=branch, hook=hook, now=now, reason=reason)
    parents = [p for p in (head, *extra_parents) if p]
    commit = _commit_tree(worktree, tree, parents, message)
    _sweep_ref_locks(repo.common_dir_str)
    return _create_ref(worktree, kind, commit, now, hook)


def _stat_key(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _new_temp_index(git_dir: str, copy: bool) -> str:
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
            _remove_temp(path)
            raise
    return path


def _remove_temp(path: str) -> None:
    for leftover in (path, path + ".lock"):
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            pass


def _clean_stale(git_dir: str) -> None:
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



def _raise_on_signals() -> Callable[[], None]:
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


def _head(cwd: str) -> tuple[str | None, str | None]:
    """HEAD's commit and tree; (None, None) on an unborn branch."""
    return _parse_head(git.call(["rev-parse", "-q", "HEAD^{commit}", "HEAD^{tree}"], cwd,
                                check=False))


def _parse_head(proc: git.Completed) -> tuple[str | None, str | None]:
    if proc.returncode != 0:
        return None, None
    lines = proc.stdout.decode().split()
    return (lines[0], lines[1]) if len(lines) == 2 else (None, None)


_EMPTY_TREES: dict[str, str] = {}


def _empty_tree(cwd: str) -> str:
    if cwd not in _EMPTY_TREES:
        done = git.call(["hash-object", "-t", "tree", "--stdin"], cwd, input=b"")
        _EMPTY_TREES[cwd] = done.stdout.decode().strip()
    return _EMPTY_TREES[cwd]


def _current_branch(git_dir: str, head: str | None) -> str:
    """The checked-out branch's short name, or ``(detached at abc1234)``."""
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8",
                  errors="surrogateescape") as f:
            text = f.read()
    except OSError:
        text = ""
    if text.startswith("ref: "):
        ref = text[5:].strip()
        return ref[len(REF_PREFIX):] if ref.startswith(REF_PREFIX) else ref
    return f"(detached at {head[:12]})" if head else "(detached)"


def _message(subject: str, *, worktree: str, branch: str, hook: str, now: float,
             reason: str = "") -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now))
    lines = [
        subject.strip().replace("\n", " ") or "snapshot",
        "",
        f"{K_WORKTREE}: {_one_line(worktree)}",
        f"{K_BRANCH}: {_one_line(branch)}",
        f"{K_HOOK}: {hook}",
        f"{K_TIME}: {stamp}",
    ]
    if reason:
        lines.append(f"{K_REASON}: {_one_line(reason)}")
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _commit_tree(cwd: str, tree: str, parents: Sequence[str], message: bytes) -> str:
    args = ["commit-tree", tree]
    for p in parents:
        args += ["-p", p]
    proc = git.call(args, cwd, input=message, check=False)
    if proc.returncode != 0 and b"identity" in proc.stderr.lower():
        # No user.name/email (a bare CI or agent account): a snapshot must still be made.
        env = {**git.no_git_env(), **_FALLBACK_IDENT}
        proc = git.call(args, cwd, env=env, input=message, check=False)
    if proc.returncode != 0:
        raise git.GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode().strip()


def _create_ref(cwd: str, kind: str, commit: str, now: float, hook: str) -> str:
    """Store ``commit`` under a new name; never overwrite (create-only ``update-ref``)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"{NAMESPACE}{kind}{stamp}"
    for n in range(1, 200):
        name = base if n == 1 else f"{base}-{n}"
        args = ["update-ref", "-m", f"ossa-hooks backup ({hook})", REF_PREFIX + name, commit, ""]
        proc = git.call(args, cwd, check=False)
        if proc.returncode == 0:
            return name
        err = proc.stderr.decode("utf-8", "replace")
        if "exists; cannot create" in err:
            raise OssaError(
                f"cannot create {name}: a branch named 'backup' (or a prefix of {name}) exists;"
                " rename that branch"
            )
        if "already exists" in err or "File exists" in err or ".lock" in err:
            continue  # taken by a concurrent snapshot (or its lock): next suffix
        raise git.GitError(args, proc.returncode, err)
    raise OssaError(f"cannot create {base}-N: 200 names are taken or locked")


def _sweep_ref_locks(common_dir: str) -> None:
    """Remove ``backup/*.lock`` files left by processes killed inside ``update-ref``.

    git holds such a lock for milliseconds; one older than a minute has no owner left.
    """
    folder = os.path.join(common_dir, "refs", "heads", *NAMESPACE.strip("/").split("/"))
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if entry.name.endswith(".lock"):
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime > 60:
                    os.unlink(entry.path)
            except OSError:
                pass


# --- reading snapshots ----------------------------------------------------------------------


_SNAPSHOTS_ARGS = ["for-each-ref", f"--format={_FORMAT}", REF_PREFIX + NAMESPACE]


def snapshots(repo: git.RepoPaths) -> list[Snapshot]:
    """Every ``backup/*`` branch, newest first."""
    return _parse_snapshots(git.call(_SNAPSHOTS_ARGS, repo.common_dir_str).stdout)


def _parse_snapshots(data: bytes) -> list[Snapshot]:
    found = []
    for record in data.split(b"\x00\x1e\n"):
        fields = record.split(b"\x00")
        if len(fields) < 7:
            continue
        ref, commit, tree, parents, stamp, subject, trailers = (
            f.decode("utf-8", "surrogateescape") for f in fields[:7]
        )
        found.append(
            Snapshot(
                branch=ref[len(REF_PREFIX):],
                commit=commit,
                tree=tree,
                parents=tuple(parents.split()),
                time=float(stamp or 0),
                subject=subject,
                trailers=_parse_trailers(trailers),
            )
        )
    found.sort(key=Snapshot.sort_key, reverse=True)
    return found


def _parse_trailers(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key not in result:
            result[key] = value.replace("\\n", "\n").replace("\\\\", "\\")
    return result


def _newest_of(snaps: Sequence[Snapshot], worktree: str, kind: str) -> Snapshot | None:
    for s in snaps:  # newest first
        if s.worktree == worktree and s.branch.startswith(NAMESPACE + kind):
            return s
    return None


def resolve(repo: git.RepoPaths, name: str) -> Snapshot:
    """The snapshot called ``name`` (``backup/auto-save-…``, ``auto-save-…`` or a full ref)."""
    wanted = name.removeprefix(REF_PREFIX)
    if not wanted.startswith(NAMESPACE):
        wanted = NAMESPACE + wanted
    for s in snapshots(repo):
        if s.branch == wanted:
            return s
    raise OssaError(f"no snapshot named {name} (`ossa-hooks backup list` shows them)")


Change = tuple[str, str, str, str]  # (status, new mode, new blob, path)


def changes(repo: git.RepoPaths, snaps: Sequence[Snapshot]) -> dict[str, list[Change]]:
    """For each snapshot (by commit), what it changed against its first parent."""
    if not snaps:
        return {}
    args = ["log", "--no-walk=unsorted", "--root", "--diff-merges=first-parent", "--no-renames",
            "--no-abbrev", "--format=%x01%H", "--raw", "-z", *(s.commit for s in snaps)]
    data = git.run(args, repo.common_dir_str).stdout
    result: dict[str, list[Change]] = {s.commit: [] for s in snaps}
    current: list[Change] = []
    meta: str | None = None
    for token in data.split(b"\x00"):
        if meta is not None:
            parts = meta.split()
            current.append((parts[4], parts[1], parts[3],
                            os.fsdecode(token)))
            meta = None
            continue
        text = token.decode("utf-8", "surrogateescape").lstrip("\n")
        if text.startswith("\x01"):
            current = result.setdefault(text[1:], [])
        elif text.startswith(":"):
            meta = text
    return result


# --- restore --------------------------------------------------------------------------------


def restore(repo: git.RepoPaths, name: str, into: Path | None = None) -> tuple[Path, list[str]]:
    """Put snapshot ``name``'s content back; returns the worktree and the paths written.

    With ``into``: a new worktree there, checked out at the snapshot's parent with the
    snapshot's content as uncommitted changes. Without: the files the snapshot changed are
    written into the current worktree, refusing (naming the files) if that would overwrite
    anything uncommitted.
    """
    from pathlib import Path

    snap = resolve(repo, name)
    snap_changes = changes(repo, [snap])[snap.commit]
    paths = [c[3] for c in snap_changes]
    if into is not None:
        return _restore_into(repo, snap, into), paths
    worktree = Path(_worktree(repo))
    blocked = _blocked_paths(repo, snap, snap_changes)
    if blocked:
        shown = ", ".join(blocked[:10]) + (f" and {len(blocked) - 10} more"
                                           if len(blocked) > 10 else "")
        raise OssaError(
            f"restoring {snap.branch} would overwrite uncommitted changes in: {shown}."
            " Commit or stash them, or restore into a new worktree with --into PATH",
            code=1,
        )
    writes = [c[3] for c in snap_changes if c[0] != "D" and c[1] != "160000"]
    deletes = [c[3] for c in snap_changes if c[0] == "D"]
    if writes:
        env = git.no_git_env()
        _clean_stale(repo.git_dir_str)
        index = _new_temp_index(repo.git_dir_str, copy=False)
        undo = _raise_on_signals()
        try:
            env["GIT_INDEX_FILE"] = index
            git.run(["read-tree", snap.commit], worktree, env=env)
            for p in writes:
                _clear_for_write(worktree, p)
            git.run(["checkout-index", "-f", "-z", "--stdin"], worktree, env=env,
                    input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in writes))
        finally:
            _remove_temp(index)
            undo()
    for p in deletes:
        target = worktree / p
        if target.is_symlink() or target.is_file():
            target.unlink()
    return worktree, paths


def _clear_for_write(worktree: Path, path: str) -> None:
    """Remove a file or symlink in the way of ``path``'s parent folders (checkout-index fails)."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        here = worktree.joinpath(*parts[:i])
        if here.is_symlink() or here.is_file():
            here.unlink()
            return


def _restore_into(repo: git.RepoPaths, snap: Snapshot, into: Path) -> Path:
    target = into.resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OssaError(f"{target} exists and is not empty: choose a new folder for --into")
    # No hooks: the new worktree's post-checkout would only snapshot a clean tree.
    git.run(["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "-q", str(target),
             snap.commit], repo.worktree)
    if snap.parent:
        git.run(["reset", "-q", "--no-refresh", snap.parent], target)
    return target


def _blocked_paths(repo: git.RepoPaths, snap: Snapshot, snap_changes: list[Change]) -> list[str]:
    """Paths the restore would write or delete whose current content is not committed."""
    from pathlib import Path

    worktree = Path(_worktree(repo))
    dirty = _uncommitted(worktree)
    if not dirty:
        return []
    targets = {c[3]: c for c in snap_changes}
    blocked = []
    for path in sorted(dirty):
        hit = [path] if path in targets else []
        if not hit:
            prefix = path.rstrip("/") + "/"
            hit = [t for t in targets if t.startswith(prefix)]  # a folder in the way
            parent = [t for t in targets if path.startswith(t + "/")]
            hit += parent
        for t in hit:
            if not _already_equal(worktree, targets[t]):
                blocked.append(path)
                break
    return blocked


def _uncommitted(worktree: Path) -> set[str]:
    """Paths whose working-tree state is not in HEAD: modified, staged, untracked, ignored."""
    data = git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all",
                    "--ignored=matching", "--no-renames"], worktree).stdout
    found = set()
    for entry in data.split(b"\x00"):
        if len(entry) > 3:
            found.add(os.fsdecode(entry[3:]))
    return found


def _already_equal(worktree: Path, change: Change) -> bool:
    status, mode, blob, path = change
    target = worktree / path
    if status == "D":
        return not (target.exists() or target.is_symlink())
    if mode == "120000":
        if not target.is_symlink():
            return False
        want = git.run(["cat-file", "blob", blob], worktree).stdout
        return os.fsencode(os.readlink(target)) == want
    if target.is_symlink() or not target.is_file():
        return False
    if mode == "100755" and not os.access(target, os.X_OK):
        return False
    got = git.out(["hash-object", "--path", path, "--", str(target)], worktree)
    return got == blob


# --- prune ----------------------------------------------------------------------------------


def prune(
    repo: git.RepoPaths,
    *,
    keep: int | None = None,
    merged: bool = False,
    ask: bool = False,
    config: Config | None = None,
) -> list[str]:
    """Delete snapshots; returns the deleted branch names.

    ``keep``: keep the newest N auto-saves (conflict parkings are never counted away).
    ``merged``: delete snapshots whose content is already in the current branch.
    ``ask``: ask on a terminal first; with no terminal only report what could go.
    Copies pushed to ``backup.remote`` (known by their remote-tracking branches) are deleted
    there too, in the background like the push.
    """
    snaps = snapshots(repo)
    doomed: dict[str, Snapshot] = {}
    if keep is not None:
        if keep < 0:
            raise OssaError("--keep must be 0 or more")
        autos = [s for s in snaps if s.kind == "auto-save"]
        doomed.update((s.branch, s) for s in autos[keep:])
    if merged:
        rest = [s for s in snaps if s.branch not in doomed]
        doomed.update((s.branch, s) for s in _merged(repo, rest))
    if not doomed:
        return []
    names = sorted(doomed)
    if ask:
        answer = _ask(f"delete {len(names)} backup snapshot(s) ({_short_list(names)})? [y/N] ")
        if answer is None:
            print(f"ossa-hooks: {len(names)} backup snapshot(s) can go ({_short_list(names)});"
                  " `ossa-hooks backup prune --merged` removes them", file=sys.stderr)
            return []
        if not answer:
            return []
    deleted = _delete(repo, [doomed[n] for n in names])
    _forget_remote_copies(repo, deleted, config)
    return deleted


def _short_list(names: Sequence[str], limit: int = 3) -> str:
    head = ", ".join(names[:limit])
    return head + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _ask(question: str) -> bool | None:
    """A yes/no answer from the terminal; None when there is no terminal to ask."""
    if not sys.stderr.isatty():
        return None
    try:
        with open("/dev/tty", "r+", encoding="utf-8") as tty:
            tty.write(question)
            tty.flush()
            return tty.readline().strip().lower() in ("y", "yes")
    except OSError:
        return None


def _merged(repo: git.RepoPaths, snaps: Sequence[Snapshot]) -> list[Snapshot]:
    """Snapshots whose changed files are, byte for byte, what the current branch holds."""
    if not snaps:
        return []
    worktree = _worktree(repo)
    head, _ = _head(worktree)
    if head is None:
        return []
    listing = git.run(["ls-tree", "-r", "-z", "--full-tree", head], worktree).stdout
    in_head: dict[str, tuple[str, str]] = {}
    for entry in listing.split(b"\x00"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, _, blob = meta.decode().split(" ")
        in_head[os.fsdecode(path)] = (mode, blob)
    found = []
    by_commit = changes(repo, snaps)
    for s in snaps:
        diff = by_commit.get(s.commit, [])
        if diff and all(
            (c[3] not in in_head) if c[0] == "D" else in_head.get(c[3]) == (c[1], c[2])
            for c in diff
        ):
            found.append(s)
    return found


def _delete(repo: git.RepoPaths, snaps: Sequence[Snapshot]) -> list[str]:
    lines = b"".join(
        f"delete {REF_PREFIX}{s.branch}\0{s.commit}\0".encode("utf-8", "surrogateescape")
        for s in snaps
    )
    proc = git.run(["update-ref", "-z", "--stdin"], repo.common_dir_str, input=lines,
                   check=False)
    if proc.returncode == 0:
        return [s.branch for s in snaps]
    # One moved or vanished under us: delete the others one by one.
    deleted = []
    for s in snaps:
        if git.run(["update-ref", "-d", REF_PREFIX + s.branch, s.commit], repo.common_dir_str,
                   check=False).returncode == 0:
            deleted.append(s.branch)
    return deleted


# --- push in the background -----------------------------------------------------------------


_PUSH_CODE = ("import sys; del sys.path[0]; from ossa_hooks.backup.snapshot import _main;"
              " sys.exit(_main(sys.argv[1:]))")


def _config_of(repo: git.RepoPaths, config: Config | None) -> Config:
    if config is not None:
        return config
    from ossa_hooks import config as config_mod

    return config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)


def _maybe_push(repo: git.RepoPaths, branch: str, config: Config | None) -> None:
    config = _config_of(repo, config)
    if not config.get("backup.push"):
        return
    remote = str(config.get("backup.remote"))
    _in_background(repo, ["push", _worktree(repo), branch, remote], branch)


def _forget_remote_copies(repo: git.RepoPaths, deleted: Sequence[str],
                          config: Config | None) -> None:
    """Delete, in the background, the pushed copies of the snapshots just deleted here."""
    if not deleted or repo.toplevel_str is None:
        return
    remote = str(_config_of(repo, config).get("backup.remote"))
    prefix = f"refs/remotes/{remote}/"
    listed = git.run(["for-each-ref", "--format=%(refname)", f"{prefix}{NAMESPACE}"],
                     repo.common_dir_str, check=False).stdout
    pushed = {r[len(prefix):] for r in listed.decode("utf-8", "surrogateescape").splitlines()}
    copies = [b for b in deleted if b in pushed]
    if not copies:
        return
    print(f"ossa-hooks: deleting {len(copies)} pushed cop{'y' if len(copies) == 1 else 'ies'}"
          f" from {remote} in the background (log: {_log_path(repo)})", file=sys.stderr)
    _in_background(repo, ["delete", repo.toplevel_str, remote, *copies], ", ".join(copies))


def _in_background(repo: git.RepoPaths, args: list[str], what: str) -> None:
    """Run ``_main(args)`` in a detached process that logs to the push log."""
    argv = [sys.executable, "-c", _PUSH_CODE, *args]
    fds: list[int] = []
    try:
        os.makedirs(repo.state_dir_str, exist_ok=True)
        fds.append(os.open(os.devnull, os.O_RDONLY))
        fds.append(os.open(_log_path(repo), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        # A process in its own session: the hook returns at once and never waits on the
        # network, and a terminal's Ctrl-C does not reach the push.
        os.posix_spawn(sys.executable, argv, git.no_git_env(), setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, fds[0], 0),
            (os.POSIX_SPAWN_DUP2, fds[1], 1),
            (os.POSIX_SPAWN_DUP2, fds[1], 2),
        ])
    except OSError as e:
        _log(repo, f"{what}: cannot start the background {args[0]}: {e}")
    finally:
        for fd in fds:
            os.close(fd)


def _log_path(repo: git.RepoPaths) -> str:
    return os.path.join(repo.state_dir_str, "backup-push.log")


def _log(repo: git.RepoPaths, line: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        os.makedirs(repo.state_dir_str, exist_ok=True)
        with open(_log_path(repo), "a", encoding="utf-8") as f:
            f.write(f"{stamp} {line}\n")
    except OSError:
        pass


def push(repo: git.RepoPaths, branch: str, remote: str) -> str:
    """Push ``branch`` to ``remote`` unless its added lines hold a secret; returns the outcome.

    Failures are logged (``<git common dir>/ossa-hooks/backup-push.log``), never raised.
    """
    start = time.perf_counter()
    try:
        snap = resolve(repo, branch)
        found = find_secrets(repo, snap)
        if found:
            outcome = f"not pushed: {len(found)} possible secret(s): " + "; ".join(found[:5])
        else:
            outcome = _git_push(repo, remote, [f"{REF_PREFIX}{branch}:{REF_PREFIX}{branch}"],
                                f"pushed to {remote}", f"push to {remote} failed")
    except Exception as e:  # noqa: BLE001 - a background push must never raise
        outcome = f"not pushed: {type(e).__name__}: {e}"
    _report(repo, branch, "backup-push", outcome.startswith("pushed"), start,
            {"branch": branch, "outcome": outcome})
    return outcome


def _report(repo: git.RepoPaths, what: str, event: str, ok: bool, start: float,
            detail: dict[str, object]) -> None:
    """A background job's outcome: one line in the push log, one event in the audit trail."""
    _log(repo, f"{what}: {detail['outcome']}")
    from ossa_hooks import audit

    audit.record(repo, "backup", event, 0 if ok else 1, time.perf_counter() - start, detail)


def _git_push(repo: git.RepoPaths, remote: str, refspecs: Sequence[str], done: str,
              failed: str) -> str:
    """``git push`` of ``refspecs``: ``done``, or ``failed`` with what git complained of."""
    proc = git.run(["push", "-q", "--no-verify", remote, *refspecs], _worktree(repo),
                   check=False)
    return done if proc.returncode == 0 else f"{failed}: {_git_complaint(proc)}"


def _git_complaint(proc: subprocess.CompletedProcess[bytes]) -> str:
    """The line of a failed git command's stderr that says what went wrong."""
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit {proc.returncode}"


def delete_remote(repo: git.RepoPaths, remote: str, branches: Sequence[str]) -> str:
    """Delete ``branches`` on ``remote``; returns the outcome, logged, never raised."""
    start = time.perf_counter()
    names = ", ".join(branches)
    try:
        outcome = _git_push(repo, remote, [f":{REF_PREFIX}{b}" for b in branches],
                            f"deleted from {remote}", f"removal from {remote} failed")
    except Exception as e:  # noqa: BLE001 - a background job must never raise
        outcome = f"not deleted from {remote}: {type(e).__name__}: {e}"
    _report(repo, names, "backup-remote-delete", outcome.startswith("deleted"), start,
            {"branches": list(branches), "outcome": outcome})
    return outcome


def base_of(repo: git.RepoPaths, snap: Snapshot) -> str:
    """What a snapshot is compared with: its first parent, or the empty tree."""
    return snap.parent or _empty_tree(_worktree(repo))


def added_lines(repo: git.RepoPaths, snap: Snapshot) -> list[tuple[str, int, str]]:
    """(path, line number, text) of every line the snapshot adds to its first parent."""
    base = base_of(repo, snap)
    data = git.run(["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff",
                    "--no-textconv", "--no-renames", "-U0", base, snap.commit],
                   _worktree(repo)).stdout
    found: list[tuple[str, int, str]] = []
    path = ""
    line_no = 0
    for raw in data.split(b"\n"):
        if raw.startswith(b"+++ "):
            path = _unquote(raw[4:].rstrip(b"\t")).removeprefix("b/")
        elif raw.startswith(b"@@ "):
            plus = raw.split(b" ")[2]  # +start[,count]
            line_no = int(plus[1:].split(b",")[0])
        elif raw.startswith(b"+"):
            found.append((path, line_no, raw[1:].decode("utf-8", "replace")))
            line_no += 1
    return found


def _unquote(raw: bytes) -> str:
    if raw.startswith(b'"') and raw.endswith(b'"'):
        import codecs

        raw = codecs.escape_decode(raw[1:-1])[0]
    return raw.decode("utf-8", "surrogateescape")


def find_secrets(repo: git.RepoPaths, snap: Snapshot) -> list[str]:
    """``path:line: kind: masked`` of each possible secret the snapshot adds to its parent.

    The commit guard's engine (``ossa_hooks.secrets.engine``, with the repository's baseline) when
    it is installed; detect-secrets' plugins on the added lines otherwise.
    """
    import importlib

    try:
        guard = importlib.import_module("ossa_hooks.secrets.engine")
    except ImportError:
        guard = None
    if guard is not None and hasattr(guard, "engine_for") and hasattr(guard, "DIFF_OPTIONS"):
        return _guard_secrets(repo, snap, guard)
    lines = added_lines(repo, snap)
    return _detect_secrets(lines) if lines else []


def _guard_secrets(repo: git.RepoPaths, snap: Snapshot, guard: types.ModuleType) -> list[str]:
    from ossa_hooks import config as config_mod

    config = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    patch = git.run(["diff", *guard.DIFF_OPTIONS, base_of(repo, snap), snap.commit],
                    _worktree(repo)).stdout
    result = guard.engine_for(config).scan_patch(patch)
    baseline = guard.load_baseline(repo, config) if hasattr(guard, "load_baseline") else None
    if baseline is not None and hasattr(guard, "apply_baseline"):
        guard.apply_baseline(result, baseline)
    return [f"{f.path}:{f.line}: {f.kind}: {f.masked}" for f in result.findings]


def _detect_secrets(lines: list[tuple[str, int, str]]) -> list[str]:
    """detect-secrets' plugins and filters on the added lines, file by file."""
    from detect_secrets.core import scan as ds_scan
    from detect_secrets.settings import default_settings

    by_path: dict[str, list[tuple[int, str]]] = {}
    for path, number, text in lines:
        by_path.setdefault(path, []).append((number, text))
    found = []
    with default_settings():
        for path, numbered in by_path.items():
            for secret in ds_scan._process_line_based_plugins(numbered, filename=path):
                value = secret.secret_value or ""
                masked = value[:min(4, len(value) // 3)] + "…"
                found.append(f"{path}:{secret.line_number}: {secret.type}: {masked}")
    return found


def _merge_title(repo: git.RepoPaths) -> str:
    try:
        with open(os.path.join(repo.git_dir_str, "MERGE_MSG"), encoding="utf-8",
                  errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return text.splitlines()[0].strip() if text.strip() else ""


def _main(argv: Sequence[str]) -> int:
    """The background jobs: ``push WORKTREE BRANCH REMOTE``, ``delete WORKTREE REMOTE BRANCH…``."""
    if len(argv) == 4 and argv[0] == "push":
        push(git.repo_paths(argv[1]), argv[2], argv[3])
        return 0
    if len(argv) >= 4 and argv[0] == "delete":
        delete_remote(git.repo_paths(argv[1]), argv[2], argv[3:])
        return 0
    print("usage: python -m ossa_hooks.backup.snapshot push WORKTREE BRANCH REMOTE\n"
          "       python -m ossa_hooks.backup.snapshot delete WORKTREE REMOTE BRANCH...",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
