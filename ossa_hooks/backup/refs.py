"""The ``backup/*`` branches: their names, the messages of their commits, writing them
(create-only, never overwriting) and reading them back.

Imported by the hook path (:mod:`ossa_hooks.backup.snapshot`): standard library and
``ossa_hooks.git`` only at the top.
"""

from __future__ import annotations

import os
import time

from ossa_hooks import git
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Sequence

REF_PREFIX = "refs/heads/"
NAMESPACE = "backup/"
AUTO = "auto-save-"
CONFLICT = "conflict-"

# Trailer keys of a snapshot's message: where it came from.
K_WORKTREE = "Worktree"
K_BRANCH = "Branch"
K_HOOK = "Hook"
K_TIME = "Time"
K_REASON = "Reason"

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



def worktree_of(repo: git.RepoPaths) -> str:
    if repo.toplevel_str is None:
        raise OssaError("this is a bare repository: run this inside a worktree")
    return repo.toplevel_str


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



def _git_complaint(proc: git.Completed | subprocess.CompletedProcess[bytes]) -> str:
    """The line of a failed git command's stderr that says what went wrong."""
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit {proc.returncode}"



def base_of(repo: git.RepoPaths, snap: Snapshot) -> str:
    """What a snapshot is compared with: its first parent, or the empty tree."""
    return snap.parent or _empty_tree(worktree_of(repo))



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


