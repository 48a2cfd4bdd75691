"""History scans: what each commit of a range (or of the whole history) added, read as one stream.

One ``git diff-tree --stdin`` process receives the commit ids and writes every commit's diff
(``<id>\\0<raw records>\\0\\0<patch>``) one after the other; the stream is cut at the commit ids
and each piece goes to ``Engine.scan_patch`` as it arrives (memory stays bounded by the largest
commit). With two free CPUs and many commits, the commits are shared between two processes,
each with its own git stream. A merge commit adds nothing of its own here: its parents'
commits carry the changes.
"""

from __future__ import annotations

import os

from ossa_hooks import git
from ossa_hooks.secrets.patch import DIFF_OPTIONS
from ossa_hooks.secrets.scanner import Finding
from ossa_hooks.secrets.scanner import ScanResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Sequence
    from typing import Any

    from ossa_hooks.secrets.scanner import Engine

PARALLEL_COMMITS = 400  # fewer commits are scanned by one process
_READ = 1 << 20


def commits_of(cwd: str | os.PathLike[str], rev: str | None) -> list[str]:
    """The commits of ``rev`` (``A..B``, one commit, or None: every commit of every ref), oldest
    first."""
    if rev is None:
        return git.out(["rev-list", "--reverse", "--all", "--"], cwd).split()
    if ".." in rev:
        return git.out(["rev-list", "--reverse", rev, "--"], cwd).split()
    return [git.out(["rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}"], cwd)]


def scan_commits(cwd: str | os.PathLike[str], commits: Sequence[str], specs: Sequence[str],
                 engine: Engine) -> ScanResult:
    """Scan what each of ``commits`` added (pathspecs ``specs`` apply)."""
    if len(commits) >= PARALLEL_COMMITS and two_cpus():
        middle = len(commits) // 2
        return in_two(lambda: _scan_stream(cwd, commits[:middle], specs, engine),
                       lambda: _scan_stream(cwd, commits[middle:], specs, engine))
    return _scan_stream(cwd, commits, specs, engine)


def _scan_stream(cwd: str | os.PathLike[str], commits: Sequence[str], specs: Sequence[str],
                 engine: Engine) -> ScanResult:
    total = ScanResult()
    for sha, piece in _diffs(cwd, commits, specs):
        total.merge(engine.scan_patch(piece, commit=sha))
    return total


def _diffs(cwd: str | os.PathLike[str], commits: Sequence[str],
           specs: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(commit id, its diff as ``scan_patch`` reads it) for each commit that changed something."""
    import subprocess
    import threading

    if not commits:
        return
    proc = subprocess.Popen(
        ["git", "diff-tree", "--stdin", "-r", "--root", *DIFF_OPTIONS, "--", *specs],
        cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=git.no_git_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:  # a thread: git writes while we are still sending ids
        assert proc.stdin is not None
        try:
            proc.stdin.write(b"".join(c.encode() + b"\n" for c in commits))
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    buf = b""
    try:
        while True:
            chunk = proc.stdout.read(_READ)
            if chunk:
                buf += chunk
            starts = _commit_starts(buf)
            # Every piece but the last is complete; at the end of the stream, all are.
            upto = len(starts) if not chunk else len(starts) - 1
            for i in range(upto):
                pos, id_end = starts[i]
                end = starts[i + 1][0] if i + 1 < len(starts) else len(buf)
                yield buf[pos:id_end].decode(), buf[id_end + 1 : end]
            if upto > 0:
                buf = buf[starts[upto][0]:] if upto < len(starts) else b""
            if not chunk:
                break
    finally:
        proc.stdout.close()
        err = proc.stderr.read() if proc.stderr else b""
        code = proc.wait()
        writer.join()
    if code != 0:
        from ossa_hooks.errors import OssaError

        raise OssaError(f"git diff-tree failed: {err.decode('utf-8', 'replace').strip()}")


_HEX = b"0123456789abcdef"


def _commit_starts(buf: bytes) -> list[tuple[int, int]]:
    """(start, end of the id) of each ``<commit id>\\0`` that begins a commit's piece: hex
    from the start of the stream or of a line to a NUL (a patch line holds no NUL; the raw
    records follow their commit's id on its line)."""
    out = []
    nul = buf.find(b"\0")
    while nul >= 0:
        start = buf.rfind(b"\n", 0, nul) + 1
        if nul - start in (40, 64) and not buf[start:nul].translate(None, _HEX):
            out.append((start, nul))
        nul = buf.find(b"\0", nul + 1)
    return out


def two_cpus() -> bool:
    if not hasattr(os, "fork"):
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:
        return (os.cpu_count() or 1) >= 2


def in_two(first: Callable[[], ScanResult], second: Callable[[], ScanResult]) -> ScanResult:
    """``first()`` in a forked child, ``second()`` here; the two results merged (the paths
    scanned too, which a baseline update needs)."""
    from ossa_hooks.secrets.patch import fork_pair

    def packed(fn: Callable[[], ScanResult]) -> tuple[list[int], list[tuple[Any, ...]],
                                                        list[str]]:
        r = fn()
        return ([r.files, r.bytes, r.binary, r.too_large, r.not_files],
                [(f.path, f.line, f.kind, f.secret, f.commit) for f in r.findings],
                sorted(r.paths))

    total = ScanResult()
    for counts, rows, paths in fork_pair(lambda: packed(first), lambda: packed(second)):
        total.findings.extend(Finding(*row) for row in rows)
        total.paths.update(paths)
        total.files += counts[0]
        total.bytes += counts[1]
        total.binary += counts[2]
        total.too_large += counts[3]
        total.not_files += counts[4]
    return total
