"""Keep refs: a branch's tip saved under ``refs/ossa-hooks/keep/<branch>/<timestamp>`` before
the branch is deleted, so no commit ever becomes unreachable (as jj keeps ``refs/jj/keep/*``).

Keep refs are not branches: ``git branch`` does not list them and no push sends them, but
``git gc`` keeps their commits. ``backup keep list`` shows them; ``backup keep prune`` deletes
those whose commit a branch holds anyway (and, when asked, those older than N days).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ossa_hooks import git
from ossa_hooks.errors import OssaError

PREFIX = "refs/ossa-hooks/keep/"


@dataclass(frozen=True, slots=True)
class Kept:
    ref: str
    branch: str
    commit: str
    time: float  # when it was kept (from the ref name's stamp)
    subject: str


def keep(repo: git.RepoPaths, branch: str, commit: str, *, why: str = "") -> str:
    """Save ``commit`` (the tip of ``branch``) under a new keep ref; returns the ref."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{PREFIX}{branch}/{stamp}"
    for n in range(1, 100):
        ref = base if n == 1 else f"{base}-{n}"
        proc = git.run(["update-ref", "-m", f"ossa-hooks keep: {why or branch}", ref, commit,
                        ""], repo.common_dir, check=False)
        if proc.returncode == 0:
            return ref
    raise OssaError(f"cannot keep the tip of {branch}: 100 keep refs named {base}-N exist")


def kept(repo: git.RepoPaths) -> list[Kept]:
    """Every keep ref, newest first."""
    fmt = "%(refname)%00%(objectname)%00%(subject)"
    data = git.run(["for-each-ref", f"--format={fmt}", PREFIX], repo.common_dir).stdout
    found = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        ref, commit, subject = [*line.split("\0"), "", ""][:3]
        branch, _, stamp = ref[len(PREFIX):].rpartition("/")
        found.append(Kept(ref, branch, commit, _parse_stamp(stamp), subject))
    found.sort(key=lambda k: (k.time, k.ref), reverse=True)
    return found


def _parse_stamp(stamp: str) -> float:
    try:
        return time.mktime(time.strptime(stamp.split("-", 2)[0] + stamp.split("-", 2)[1],
                                         "%Y%m%d%H%M%S"))
    except (ValueError, IndexError):
        return 0.0


def on_a_branch(repo: git.RepoPaths, commit: str, *, besides: str | None = None) -> list[str]:
    """Branches (short names) whose history holds ``commit``, ``besides`` left out, and the
    ``backup/*`` snapshots too: they are pruned on their own schedule."""
    data = git.run(["for-each-ref", "--format=%(refname)", "--contains", commit, "refs/heads/"],
                   repo.common_dir).stdout
    names = [r.removeprefix("refs/heads/") for r in
             data.decode("utf-8", "surrogateescape").splitlines()]
    return [n for n in names if n != besides and not n.startswith("backup/")]


def prune(repo: git.RepoPaths, *, older_than_days: float | None = None) -> list[Kept]:
    """Delete keep refs whose commit a branch holds; with ``older_than_days``, also those older
    than that whatever they hold. Returns what was deleted."""
    now = time.time()
    doomed = []
    for k in kept(repo):
        old = older_than_days is not None and now - k.time > older_than_days * 86400
        if old or on_a_branch(repo, k.commit):
            doomed.append(k)
    for k in doomed:
        git.run(["update-ref", "-d", k.ref, k.commit], repo.common_dir, check=False)
    return doomed
