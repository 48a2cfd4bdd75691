"""Added time of the guard's reference-transaction hook on `git commit --allow-empty`.

Four repositories, commits interleaved so machine noise hits them alike: no hooks; a
`reference-transaction` hook that is only `exit 0` (the floor: git starting a shell); the
`reference-transaction` shim alone (`ossa-hooks install -t reference-transaction`, the hook
that runs on every ref update) committed by a person, whose commits it must not slow (a shell
test, no interpreter); and the same shim committed by an agent process (OSSA_* identity set),
for which it starts Python and applies the rules on the prepared transaction. Medians and the
ratio with / without are printed.

Then the agents' git (``ossa_hooks.worktree.guard_git``, first on an agent's PATH): an agent's
read-only command (``git status``) and a writing command in its own worktree (``git add``), which
the wrapper's script decides alone, and a command it checks (``git checkout -- README.md``: the
interpreter and the rules), each through the wrapper and through the real git, interleaved.

    python bench/bench_guard.py [--runs 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _repo import bench_env
from _repo import make_repo
from _repo import sh

TARGET_MS = 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    from ossa_hooks.identity import Identity

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(root)
        bare = make_repo(root, "no-hooks", env)
        guarded = make_repo(root, "guarded", env)
        sh(guarded, str(bindir / "ossa-hooks"), "install", "-t", "reference-transaction",
           env=env)
        # The floor any reference-transaction hook pays: git starting /bin/sh twice a commit.
        floor = make_repo(root, "exit-0-hook", env)
        hook = floor / ".git" / "hooks" / "reference-transaction"
        hook.write_text("#!/bin/sh\nexit 0\n")
        hook.chmod(0o755)
        branch = sh(guarded, "git", "branch", "--show-current", env=env).strip()
        agent_env = {**env, **Identity("bench-1", agent_type="bench", branch=branch,
                                       worktree=str(guarded)).environ()}
        runs: dict[str, tuple[Path, dict[str, str]]] = {
            "none": (bare, env), "floor": (floor, env), "person": (guarded, env),
            "agent": (guarded, agent_env)}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for i in range(args.runs + 3):
            for name, (path, run_env) in runs.items():
                start = time.perf_counter()
                sh(path, "git", "commit", "-q", "--allow-empty", "-m", "x", env=run_env)
                if i >= 3:  # warm-up rounds
                    times[name].append((time.perf_counter() - start) * 1000)
        wrapped = wrapper_times(guarded, agent_env, args.runs)
    med = {name: statistics.median(values) for name, values in times.items()}
    person_added = med["person"] - med["none"]
    agent_added = med["agent"] - med["none"]
    print(f"git commit --allow-empty, median of {args.runs} runs")
    print(f"  no hooks                          {med['none']:7.1f} ms")
    print(f"  a hook that is `exit 0`           {med['floor']:7.1f} ms"
          f"  added {med['floor'] - med['none']:6.1f} ms  (starting sh: the floor)")
    print(f"  reference-transaction, a person   {med['person']:7.1f} ms"
          f"  added {person_added:6.1f} ms  (target <= {TARGET_MS:.0f} ms)")
    print(f"  reference-transaction, an agent   {med['agent']:7.1f} ms"
          f"  added {agent_added:6.1f} ms  (interpreter + rules, agents only)")
    print(f"  ratio person with / without hook: {med['person'] / med['none']:.2f}x")
    print(f"  target met: {'yes' if person_added <= TARGET_MS else 'NO'}")
    print(f"an agent's git through the guard's wrapper, median of {args.runs} runs")
    for label, (real, wrapper) in wrapped.items():
        print(f"  {label:34}{real:7.1f} ms real git  {wrapper:7.1f} ms wrapper"
              f"  added {wrapper - real:6.1f} ms  ({wrapper / real:.2f}x)")
    return 0


def wrapper_times(repo: Path, agent_env: dict[str, str], runs: int
                  ) -> dict[str, tuple[float, float]]:
    """Median (real git, wrapper) times of an agent's read-only and checked commands."""
    from ossa_hooks.git import repo_paths
    from ossa_hooks.worktree.guard_git import agent_environ

    wrapped_env = dict(agent_env)
    agent_environ(repo_paths(repo), wrapped_env)
    real = wrapped_env["OSSA_REAL_GIT"]
    commands = {"git status": ("status", "--short"),
                "git add README.md": ("add", "README.md"),
                "git checkout -- README.md": ("checkout", "--", "README.md")}
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(runs + 3):
        for label, command in commands.items():
            for how, exe, run_env in (("real", real, agent_env), ("wrapper", "git", wrapped_env)):
                start = time.perf_counter()
                sh(repo, exe, *command, env=run_env)
                if i >= 3:
                    times.setdefault((label, how), []).append(
                        (time.perf_counter() - start) * 1000)
    return {label: (statistics.median(times[label, "real"]),
                    statistics.median(times[label, "wrapper"])) for label in commands}


if __name__ == "__main__":
    raise SystemExit(main())
