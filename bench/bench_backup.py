"""Benchmark: the post-checkout hook's snapshot against the raw git steps it is made of.

A repository of 2,000 tracked files with 300 modified and 100 untracked. Timed in one run,
alternating, median of N:

* raw git: ``cp index``, ``GIT_INDEX_FILE=… git add -A``, ``write-tree``, ``commit-tree``,
  ``update-ref`` (each a process started from this script, as a shell script would); and the
  same with ``git -c core.bigFileThreshold=1 add -A`` as the hook runs it (every new blob
  streamed into one pack instead of one loose file each), which shows the hook's own cost;
* hook: the installed post-checkout shim, exactly as git runs it after a branch checkout
  (Python start, config, snapshot, audit event);
* hook on a clean tree (nothing to save), right after a real ``git checkout`` between two
  branches that differ in 20 files, as git runs it (the checkout itself untimed). The files
  of the tree are older than the checkout, as in a repository in use: a tree written in the
  same second as the index would make every git command compare every file's content
  ("racily clean" entries), which is an artefact of a repository made by a script.

Before each timed run the 300 modified files get new content, so every run really hashes and
stores them. Bytecode of ossa_hooks is compiled first, as pip does at install time. Wall time
is the target; CPU time (user + sys of the process tree) is printed too because it moves less
when the machine is busy. Targets (issue 3): hook <= 1.3x raw git, clean tree <= 35 ms.

    python bench/bench_backup.py [--runs N] [--files 2000] [--modified 300] [--untracked 100]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _repo import bench_env

RATIO_TARGET = 1.3
CLEAN_TARGET_MS = 35.0
ENV: dict[str, str] = {}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, inp: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env or ENV, input=inp,
                          capture_output=True, check=True)
    return proc.stdout.decode().strip()


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        folder = repo / f"pkg{i % 40}" / f"mod{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}.py").write_text("".join(f"line {j} of file {i}\n" for j in range(40)))
    (repo / ".gitignore").write_text(".env\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def tracked(repo: Path) -> list[Path]:
    names = git(repo, "ls-files", "-z").split("\0")
    return [repo / n for n in names if n.endswith(".py")]


def dirty(repo: Path, files: list[Path], untracked: int, round_: int) -> None:
    for f in files:
        f.write_text(f.read_text().split("# round")[0] + f"# round {round_}\n")
    extra = repo / "new"
    extra.mkdir(exist_ok=True)
    for i in range(untracked):
        (extra / f"untracked{i}.txt").write_text(f"untracked {i} round {round_}\n")


def raw_steps(repo: Path, n: int, head: str, packed: bool = False) -> tuple[float, float]:
    """The five git steps alone (HEAD resolved beforehand, untimed).

    ``packed``: ``add`` with the option the hook uses (new blobs streamed into one pack), to
    show what the hook costs beyond its git work.
    """
    env = dict(ENV)
    git_dir = repo / ".git"
    cpu = _cpu()
    start = time.perf_counter()
    tmp = git_dir / "bench-raw.index"
    subprocess.run(["cp", str(git_dir / "index"), str(tmp)], check=True)
    env["GIT_INDEX_FILE"] = str(tmp)
    git(repo, *(["-c", "core.bigFileThreshold=1"] if packed else []), "add", "-A", env=env)
    tree = git(repo, "write-tree", env=env)
    commit = git(repo, "commit-tree", tree, "-p", head, "-m", "raw snapshot")
    git(repo, "update-ref", f"refs/heads/bench-raw/{n}", commit, "")
    elapsed = time.perf_counter() - start
    cpu = _cpu() - cpu
    tmp.unlink()
    return elapsed, cpu


def hook(repo: Path, old: str, new: str) -> tuple[float, float, str]:
    """The installed shim, run the way git runs post-checkout after `git checkout BRANCH`."""
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.run([str(repo / ".git" / "hooks" / "post-checkout"), old, new, "1"],
                          cwd=repo, env=ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    cpu = _cpu() - cpu
    if proc.returncode != 0:
        sys.exit(f"hook failed: {proc.stderr.decode()}")
    return elapsed, cpu, proc.stderr.decode().strip()


def interpreter_start() -> float:
    """``python -S -c pass`` with the hooks' interpreter: the floor under every hook."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", "pass"], env=ENV, check=True)
    return time.perf_counter() - start


def clean_checkouts(repo: Path, runs: int, differ: int = 20,
                    floor: list[float] | None = None) -> list[tuple[float, float, str]]:
    """The hook after each of ``runs`` checkouts between two branches, the tree left clean.

    ``floor`` receives the interpreter's bare start-up, timed between the hook runs."""
    main_head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "other")
    for path in tracked(repo)[-differ:]:
        path.write_text(path.read_text() + "# on the other branch\n")
    git(repo, "commit", "-q", "-a", "--no-verify", "-m", "other")
    heads = {"main": main_head, "other": git(repo, "rev-parse", "HEAD")}
    time.sleep(1.1)  # the tree is older than every checkout below (see the module doc)
    results = []
    current = "other"
    for _ in range(runs):
        target = "main" if current == "other" else "other"
        git(repo, "-c", "core.hooksPath=/dev/null", "checkout", "-q", target)
        results.append(hook(repo, heads[current], heads[target]))
        if floor is not None:
            floor.append(interpreter_start())
        current = target
    if current != "main":
        git(repo, "-c", "core.hooksPath=/dev/null", "checkout", "-q", "main")
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--modified", type=int, default=300)
    ap.add_argument("--untracked", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep the temporary repository")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ossa-bench-backup-"))
    ENV.update(bench_env(root))
    try:
        repo = make_repo(root, args.files)
        exe = Path(sys.executable).with_name("ossa-hooks")
        subprocess.run([str(exe), "install"], cwd=repo, check=True, capture_output=True, env=ENV)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "install ossa-hooks")
        head = git(repo, "rev-parse", "HEAD")
        files = tracked(repo)[: args.modified]

        # Clean tree first: the hook finds nothing to save (2 warm-up runs).
        floor: list[float] = []
        clean = clean_checkouts(repo, args.runs + 2, floor=floor)[2:]
        for _, _, said in clean:
            if said:
                sys.exit(f"the hook said something on a clean tree: {said!r}")

        raw: list[tuple[float, float]] = []
        packed: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for n in range(args.runs):
            dirty(repo, files, args.untracked, 3 * n)
            raw.append(raw_steps(repo, n, head))
            dirty(repo, files, args.untracked, 3 * n + 1)
            packed.append(raw_steps(repo, args.runs + n, head, packed=True))
            dirty(repo, files, args.untracked, 3 * n + 2)
            seconds, cpu, said = hook(repo, head, head)
            if "saved to backup/" not in said:
                sys.exit(f"the hook made no snapshot: {said!r}")
            ours.append((seconds, cpu))

        def med(rows: list[tuple[float, float]], i: int) -> float:
            return statistics.median(r[i] for r in rows) * 1000

        raw_ms, ours_ms, clean_ms = med(raw, 0), med(ours, 0), med([c[:2] for c in clean], 0)
        raw_cpu, ours_cpu, clean_cpu = med(raw, 1), med(ours, 1), med([c[:2] for c in clean], 1)
        ratio = ours_ms / raw_ms
        print(f"repository: {args.files} files, {args.modified} modified, "
              f"{args.untracked} untracked; median of {args.runs} runs; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print("                                                        wall ms   cpu ms")
        print(f"raw git (cp, add -A, write-tree, commit-tree, update-ref) {raw_ms:7.1f}  "
              f"{raw_cpu:7.1f}")
        print(f"  the same, add streaming new blobs into one pack         "
              f"{med(packed, 0):7.1f}  {med(packed, 1):7.1f}")
        print(f"ossa-hooks post-checkout hook, snapshot                  {ours_ms:7.1f}  "
              f"{ours_cpu:7.1f}")
        print(f"ossa-hooks post-checkout hook, clean tree                {clean_ms:7.1f}  "
              f"{clean_cpu:7.1f}")
        print(f"ratio hook / raw git (wall): {ratio:.2f}x  (target <= {RATIO_TARGET}x)  "
              f"{'OK' if ratio <= RATIO_TARGET else 'MISSED'};  cpu ratio "
              f"{ours_cpu / raw_cpu:.2f}x")
        print(f"clean tree (wall): {clean_ms:.1f} ms  (target <= {CLEAN_TARGET_MS:.0f} ms)  "
              f"{'OK' if clean_ms <= CLEAN_TARGET_MS else 'MISSED'}")
        start_ms = statistics.median(floor[2:]) * 1000
        print(f"  of which the interpreter's bare start (python -S -c pass, same runs): "
              f"{start_ms:.1f} ms; the hook's own share: {clean_ms - start_ms:.1f} ms")
        if args.keep:
            print(f"repository kept: {repo}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
