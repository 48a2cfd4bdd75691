"""``backup.push``: snapshots pushed to ``backup.remote`` in the background, never with a
secret; the pushed copies of pruned snapshots deleted there too. Every outcome is logged
(``<git common dir>/ossa-hooks/backup-push.log``) and recorded in the audit trail."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from ossa_hooks import git
from ossa_hooks.backup.refs import NAMESPACE
from ossa_hooks.backup.refs import REF_PREFIX
from ossa_hooks.backup.refs import Snapshot
from ossa_hooks.backup.refs import _git_complaint
from ossa_hooks.backup.refs import base_of
from ossa_hooks.backup.refs import resolve
from ossa_hooks.backup.refs import worktree_of
from ossa_hooks.config import Config


def start(repo: git.RepoPaths, branch: str, remote: str) -> None:
    """Push snapshot ``branch`` to ``remote`` in a detached process (the caller never waits)."""
    _in_background(repo, ["push", worktree_of(repo), branch, remote], branch)


_PUSH_CODE = ("import sys; del sys.path[0]; from ossa_hooks.backup.push import _main;"
              " sys.exit(_main(sys.argv[1:]))")


def forget_remote_copies(repo: git.RepoPaths, deleted: Sequence[str],
                          config: Config | None) -> None:
    """Delete, in the background, the pushed copies of the snapshots just deleted here."""
    if not deleted or repo.toplevel_str is None:
        return
    if config is None:
        from ossa_hooks import config as config_mod

        config = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    remote = str(config.get("backup.remote"))
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
    """Push ``branch`` to ``remote`` unless a commit the remote lacks holds a secret, or a file
    that cannot be scanned; returns the outcome.

    A push sends every commit the remote does not have, not only the snapshot: the user's own
    unpushed commits (one made with ``SKIP=ossa-secrets`` too) are scanned, all their files.
    Failures are logged (``<git common dir>/ossa-hooks/backup-push.log``), never raised.
    """
    start = time.perf_counter()
    try:
        snap = resolve(repo, branch)
        found = find_secrets(repo, snap)
        if found:
            outcome = f"not pushed: {len(found)} possible secret(s): " + "; ".join(found[:5])
        else:
            blocked = unpushed_problems(repo, snap, remote)
            if blocked:
                outcome = "not pushed: " + "; ".join(blocked[:5]) + (
                    f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
            else:
                outcome = _git_push(repo, remote,
                                    [f"{REF_PREFIX}{branch}:{REF_PREFIX}{branch}"],
                                    f"pushed to {remote}", f"push to {remote} failed")
    except Exception as e:  # noqa: BLE001 - a background push must never raise
        outcome = f"not pushed: {type(e).__name__}: {e}"
    _report(repo, branch, "backup-push", outcome.startswith("pushed"), start,
            {"branch": branch, "outcome": outcome})
    return outcome


def unpushed_problems(repo: git.RepoPaths, snap: Snapshot, remote: str) -> list[str]:
    """Why the commits ``remote`` lacks below the snapshot must not go there: possible secrets
    (``path:line: kind: masked (commit)``) and files the scanner could not read (too large,
    binary). Uses the commit guard's engine, with the repository's baseline."""
    from ossa_hooks import config as config_mod
    from ossa_hooks.secrets import engine

    cwd = worktree_of(repo)
    listed = git.run(["rev-list", "--no-merges", snap.commit, "--not", f"--remotes={remote}",
                      "--"], cwd).stdout.decode().split()
    commits = [c for c in listed if c != snap.commit]  # the snapshot itself: find_secrets
    if not commits:
        return []
    config = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    eng = engine.engine_for(config)
    total = engine.ScanResult()
    for sha in commits:
        total.merge(engine.scan_rev(repo, config, sha, engine=eng))
    engine.apply_baseline(total, engine.load_baseline(repo, config))
    problems = [f"possible secret {f.path}:{f.line}: {f.kind}: {f.masked}"
                f" (commit {(f.commit or '?')[:10]})" for f in total.findings]
    limit = config.get("secrets.max_file_size")
    if total.too_large:
        problems.append(f"{total.too_large} file(s) over secrets.max_file_size ({limit} bytes)"
                        " cannot be scanned")
    if total.binary:
        problems.append(f"{total.binary} binary file(s) cannot be scanned")
    return problems


def _report(repo: git.RepoPaths, what: str, event: str, ok: bool, start: float,
            detail: dict[str, object]) -> None:
    """A background job's outcome: one line in the push log, one event in the audit trail."""
    _log(repo, f"{what}: {detail['outcome']}")
    from ossa_hooks import audit

    audit.record(repo, "backup", event, 0 if ok else 1, time.perf_counter() - start, detail)


def _git_push(repo: git.RepoPaths, remote: str, refspecs: Sequence[str], done: str,
              failed: str) -> str:
    """``git push`` of ``refspecs``: ``done``, or ``failed`` with what git complained of."""
    proc = git.run(["push", "-q", "--no-verify", remote, *refspecs], worktree_of(repo),
                   check=False)
    return done if proc.returncode == 0 else f"{failed}: {_git_complaint(proc)}"


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


def find_secrets(repo: git.RepoPaths, snap: Snapshot) -> list[str]:
    """``path:line: kind: masked`` of each possible secret the snapshot adds to its parent: the
    commit guard's engine on the snapshot's patch, with the repository's excludes and baseline
    (the baseline file itself, which holds hashes of accepted findings, is not scanned)."""
    from ossa_hooks import config as config_mod
    from ossa_hooks.secrets import engine

    config = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    patch = git.run(["diff", *engine.DIFF_OPTIONS, base_of(repo, snap), snap.commit, "--",
                     *engine.pathspecs(config)], worktree_of(repo)).stdout
    result = engine.engine_for(config).scan_patch(patch)
    engine.apply_baseline(result, engine.load_baseline(repo, config))
    return [f"{f.path}:{f.line}: {f.kind}: {f.masked}" for f in result.findings]


def _main(argv: Sequence[str]) -> int:
    """The background jobs: ``push WORKTREE BRANCH REMOTE``, ``delete WORKTREE REMOTE BRANCH…``."""
    if len(argv) == 4 and argv[0] == "push":
        push(git.repo_paths(argv[1]), argv[2], argv[3])
        return 0
    if len(argv) >= 4 and argv[0] == "delete":
        delete_remote(git.repo_paths(argv[1]), argv[2], argv[3:])
        return 0
    print("usage: python -m ossa_hooks.backup.push push WORKTREE BRANCH REMOTE\n"
          "       python -m ossa_hooks.backup.push delete WORKTREE REMOTE BRANCH...",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
