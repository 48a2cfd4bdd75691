"""Carrying ignored files over (``.worktreeinclude``), beside the shell way of doing it.

A main worktree with a ``node_modules/`` of many small files, a 20 MB cache file and a
``.env``, all git-ignored and listed in ``.worktreeinclude``. Timed, interleaved, medians:

- ossa-hooks: ``ossa_hooks.worktree.include.carry_over`` (git's matching, the ignore check,
  symlink checks, copy-on-write where possible, mode and times kept);
- shell: ``git ls-files -z --others --ignored --exclude-from=.worktreeinclude | xargs -0
  cp -a --parents --reflink=auto -t DEST`` (the same list, no ignore check, no symlink care).

    python bench/bench_include.py [--runs 10] [--files 2000]
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _repo import bench_env
from _repo import make_repo

from ossa_hooks.worktree import include


def build(root: Path, env: dict[str, str], files: int) -> Path:
    repo = make_repo(root, "main", env)
    (repo / ".gitignore").write_text(".env\nnode_modules/\n*.cache\n")
    (repo / ".worktreeinclude").write_text(".env\nnode_modules/\n*.cache\n")
    for i in range(files):
        path = repo / "node_modules" / f"pkg{i % 50}" / f"file{i}.js"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"module.exports = {i};\n" * 20)
    (repo / "big.cache").write_bytes(bytes(range(256)) * (20 * 4096))
    (repo / ".env").write_text("DATABASE_URL=postgres://localhost/dev\n")
    return repo


def shell_copy(repo: Path, dest: Path, env: dict[str, str]) -> None:
    subprocess.run(
        "git ls-files -z --others --ignored --exclude-from=.worktreeinclude"
        f" | xargs -0 cp -a --parents --reflink=auto -t {shlex.quote(str(dest))}",
        shell=True, cwd=repo, env=env, check=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--files", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(root)
        repo = build(root, env, args.files)
        ours: list[float] = []
        shell: list[float] = []
        copied = 0
        for _ in range(args.runs):
            for kind in ("ossa", "shell"):
                dest = root / f"dest-{kind}"
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                start = time.perf_counter()
                if kind == "ossa":
                    copied = len(include.carry_over(repo, dest).copied)
                    ours.append(time.perf_counter() - start)
                else:
                    shell_copy(repo, dest, env)
                    shell.append(time.perf_counter() - start)
        a, b = statistics.median(ours) * 1000, statistics.median(shell) * 1000
        print(f"carry over {copied} ignored files (+ .env merged apart), median of"
              f" {args.runs} runs")
        print(f"  shell: ls-files | xargs cp -a --reflink=auto   {b:8.1f} ms")
        print(f"  ossa-hooks include.carry_over                 {a:8.1f} ms")
        print(f"  ratio ossa-hooks / shell: {a / b:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
