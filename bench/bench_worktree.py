"""Agent worktree costs, beside plain git doing the same steps.

1. post-merge: `git merge --no-ff` of a one-commit branch with no hook; with the ossa-hooks
   shim and no action (what any ossa hook costs); with `ossa-cleanup` when no agent worktree
   exists (the usual merge: the front door answers from the git dir); and when one unmerged
   agent worktree exists (the full check runs).
2. lifecycle: `ossa-hooks worktree create` + one commit + `ossa-hooks worktree cleanup`
   (snapshot, `.env`, scaffold, merge-back, removal) against plain git doing the core of it
   (`git worktree add -b`, the commit, a fast-forward `update-ref`, `git worktree remove`,
   `git branch -D`).

Runs are interleaved so machine noise hits all variants alike; medians are printed.

    python bench/bench_worktree.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _repo import bench_env
from _repo import sh

# ossa-cleanup's own cost over the shim when there is nothing to clean.
TARGET_FRONT_DOOR_MS = 5.0
# create + a commit + cleanup (two commands, snapshot, merge-back, removal) on a small repo.
TARGET_LIFECYCLE_MS = 1000.0
QUIET = ("hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n  pre-rebase: []\n"
         "  post-merge: [ossa-cleanup]\n")
NO_ACTION = QUIET.replace("[ossa-cleanup]", "[]")


def make_repo(root: Path, name: str, env: dict[str, str], ossa: str | None,
              config: str = QUIET) -> Path:
    path = root / name
    path.mkdir()
    sh(path, "git", "init", "-q", "-b", "main", env=env)
    (path / "README.md").write_text("bench\n")
    if ossa:
        (path / ".ossa-hooks.yaml").write_text(config)
        sh(path, ossa, "install", env=env)
    sh(path, "git", "add", ".", env=env)
    sh(path, "git", "commit", "-q", "-m", "initial", "--no-verify", env=env)
    sh(path, "git", "branch", "side", env=env)
    return path


def timed(cwd: Path, *args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    sh(cwd, *args, env=env)
    return (time.perf_counter() - start) * 1000


def merge_once(repo: Path, env: dict[str, str]) -> float:
    ms = timed(repo, "git", "merge", "-q", "--no-ff", "--no-edit", "side", env=env)
    sh(repo, "git", "reset", "-q", "--hard", "HEAD~1", env=env)
    return ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    ossa = str(Path(sys.executable).parent / "ossa-hooks")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(root)

        # --- post-merge ---
        plain = make_repo(root, "plain", env, None)
        shim = make_repo(root, "ossa-no-action", env, ossa, NO_ACTION)
        empty = make_repo(root, "ossa-no-agents", env, ossa)
        busy = make_repo(root, "ossa-one-agent", env, ossa)
        variants = (("plain", plain), ("shim", shim), ("front door", empty), ("full check", busy))
        for _, repo in variants:
            sh(repo, "git", "checkout", "-q", "side", env=env)
            (repo / "side.txt").write_text("side\n")
            sh(repo, "git", "add", "side.txt", env=env)
            sh(repo, "git", "commit", "-q", "--no-verify", "-m", "side", env=env)
            sh(repo, "git", "checkout", "-q", "main", env=env)
        sh(busy, ossa, "worktree", "create", "coder", "busy", env=env)
        agent = next((busy / ".worktrees").iterdir())
        (agent / "work.txt").write_text("work\n")
        sh(agent, "git", "add", "work.txt", env=env)
        sh(agent, "git", "commit", "-q", "--no-verify", "-m", "work", env=env)
        merges: dict[str, list[float]] = {name: [] for name, _ in variants}
        for i in range(args.runs + 2):
            for name, repo in variants:
                ms = merge_once(repo, env)
                if i >= 2:
                    merges[name].append(ms)

        # --- lifecycle ---
        lp = make_repo(root, "life-plain", env, None)
        lo = make_repo(root, "life-ossa", env, ossa)
        life: dict[str, list[float]] = {"plain git": [], "ossa-hooks": []}
        for i in range(args.runs):
            task = f"t{i}"
            start = time.perf_counter()
            wt = lp / ".worktrees" / f"plain__coder__{task}"
            sh(lp, "git", "worktree", "add", "-q", "-b", f"agents/coder/{task}", str(wt), "main",
               env=env)
            (wt / f"{task}.txt").write_text("x\n")
            sh(wt, "git", "add", ".", env=env)
            sh(wt, "git", "commit", "-q", "-m", task, env=env)
            tip = sh(wt, "git", "rev-parse", "HEAD", env=env).strip()
            sh(lp, "git", "update-ref", "refs/heads/integration", tip, env=env)
            sh(lp, "git", "worktree", "remove", str(wt), env=env)
            sh(lp, "git", "branch", "-D", f"agents/coder/{task}", env=env)
            life["plain git"].append((time.perf_counter() - start) * 1000)

            start = time.perf_counter()
            sh(lo, ossa, "worktree", "create", "coder", task, env=env)
            wt = lo / ".worktrees" / f"life-ossa__coder__{task}"
            (wt / f"{task}.txt").write_text("x\n")
            sh(wt, "git", "add", f"{task}.txt", env=env)
            sh(wt, "git", "commit", "-q", "-m", task, env=env)
            sh(lo, ossa, "worktree", "cleanup", "coder", task, env=env)
            life["ossa-hooks"].append((time.perf_counter() - start) * 1000)

    med = {k: statistics.median(v) for k, v in merges.items()}
    shim = med["shim"] - med["plain"]
    front = med["front door"] - med["shim"]
    full = med["full check"] - med["shim"]
    print(f"git merge --no-ff, median of {args.runs} runs")
    print(f"  no hooks                          {med['plain']:7.1f} ms")
    print(f"  ossa-hooks shim, no action        {med['shim']:7.1f} ms  added {shim:6.1f} ms"
          " over no hooks")
    met = "met" if front <= TARGET_FRONT_DOOR_MS else "NOT met"
    print(f"  ossa-cleanup, no agent worktree   {med['front door']:7.1f} ms  added {front:6.1f} ms"
          f" over the shim (target <= {TARGET_FRONT_DOOR_MS:.0f} ms: {met})")
    print(f"  ossa-cleanup, one agent worktree  {med['full check']:7.1f} ms  added {full:6.1f} ms"
          " over the shim")
    lmed = {k: statistics.median(v) for k, v in life.items()}
    ratio = lmed["ossa-hooks"] / lmed["plain git"]
    print(f"create + commit + cleanup, median of {args.runs} runs")
    print(f"  plain git (add, commit, ff, remove, branch -D)  {lmed['plain git']:7.1f} ms")
    print(f"  ossa-hooks worktree create/cleanup              {lmed['ossa-hooks']:7.1f} ms")
    met = "met" if lmed["ossa-hooks"] <= TARGET_LIFECYCLE_MS else "NOT met"
    print(f"  ratio ossa-hooks / plain git: {ratio:.1f}x  (target: ossa-hooks <="
          f" {TARGET_LIFECYCLE_MS:.0f} ms: {met})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
