"""Benchmark: moving a 2,000-file linked worktree to the trash, against the peers.

Timed in one run, alternating, median of N, each on a fresh worktree of the same repository:

* ``trash.put`` (the call cleanup and the post-merge sweep make: meta file, two renames) plus
  ``git worktree prune``, in this process, as cleanup runs it;
* ``mv`` of the folder plus ``git worktree prune`` (the least a move can cost from a shell);
* ``git worktree remove --force`` (what cleanup did before: deletes every file).

Target (issue 11): the move within 50 ms.

    python bench/bench_trash.py [--runs N] [--files 2000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _repo import bench_env

TARGET_MS = 50.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-trash-"))
    env = bench_env(root)
    import os

    os.environ.clear()
    os.environ.update(env)
    from ossa_hooks import git
    from ossa_hooks.backup import trash

    repo = root / "repo"
    repo.mkdir()

    def g(*a: str, cwd: Path = repo) -> None:
        subprocess.run(["git", *a], cwd=cwd, env=env, check=True, capture_output=True)

    g("init", "-q", "-b", "main")
    for i in range(args.files):
        folder = repo / f"pkg{i % 40}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{i}.py").write_text(f"x = {i}\n" * 20)
    g("add", "-A")
    g("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "base")
    paths = git.repo_paths(repo)
    n = 0

    def fresh() -> Path:
        nonlocal n
        n += 1
        wt = root / "wts" / f"wt{n}"
        g("-c", "core.hooksPath=/dev/null", "worktree", "add", "-q", "-b", f"b{n}", str(wt))
        return wt

    ours: list[float] = []
    put_only: list[float] = []
    mv: list[float] = []
    remove: list[float] = []
    for _ in range(args.runs):
        wt = fresh()
        t = time.perf_counter()
        trash.put(paths, wt, reason="bench")
        put_only.append(time.perf_counter() - t)
        g("worktree", "prune")
        ours.append(time.perf_counter() - t)

        wt = fresh()
        dest = root / "mv" / wt.name
        dest.parent.mkdir(exist_ok=True)
        t = time.perf_counter()
        subprocess.run(["mv", str(wt), str(dest)], check=True)
        g("worktree", "prune")
        mv.append(time.perf_counter() - t)

        wt = fresh()
        t = time.perf_counter()
        g("worktree", "remove", "--force", str(wt))
        remove.append(time.perf_counter() - t)

    med = {k: statistics.median(v) * 1000 for k, v in
           (("ours", ours), ("put", put_only), ("mv", mv), ("remove", remove))}
    print(f"worktree of {args.files} files, median of {args.runs}:")
    print(f"  ossa-hooks trash.put + git worktree prune   {med['ours']:7.1f} ms")
    print(f"    of which the move itself (trash.put)      {med['put']:7.1f} ms")
    print(f"  mv + git worktree prune                     {med['mv']:7.1f} ms")
    print(f"  git worktree remove --force (deletes)       {med['remove']:7.1f} ms")
    print(f"ratio trash / mv: {med['ours'] / med['mv']:.2f}x;"
          f" trash / remove: {med['ours'] / med['remove']:.2f}x")
    print(f"move within {TARGET_MS:.0f} ms: {'yes' if med['put'] <= TARGET_MS else 'NO'}"
          f" ({med['put']:.1f} ms; with git's prune: {med['ours']:.1f} ms)")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
