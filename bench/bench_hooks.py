"""Added time of the installed hooks on `git commit --allow-empty`, beside the pre-commit framework.

Three repositories: no hooks; `ossa-hooks install` (all hook types, no action configured, so
this measures the shim, interpreter start, config and audit trail); `pre-commit install` with
one no-op hook (`language: system`, `entry: true`). Commits are interleaved so machine noise
hits all three alike; the medians are printed with the ratio.

    python bench/bench_hooks.py [--runs 40]
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

TARGET_MS = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(root)
        env["PRE_COMMIT_HOME"] = str(root / "pre-commit-home")
        bare = make_repo(root, "no-hooks", env)
        ossa = make_repo(root, "ossa-hooks", env)
        (ossa / ".ossa-hooks.yaml").write_text(
            "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n"
            "  post-merge: []\n  pre-rebase: []\n"
        )
        sh(ossa, str(bindir / "ossa-hooks"), "install", env=env)
        pc = make_repo(root, "pre-commit", env)
        (pc / ".pre-commit-config.yaml").write_text(
            "repos:\n  - repo: local\n    hooks:\n      - id: noop\n        name: noop\n"
            "        entry: 'true'\n        language: system\n        always_run: true\n"
            "        pass_filenames: false\n"
        )
        sh(pc, str(bindir / "pre-commit"), "install", env=env)
        times: dict[str, list[float]] = {"none": [], "ossa": [], "pre-commit": [], "floor": []}
        repos = {"none": bare, "ossa": ossa, "pre-commit": pc}
        for i in range(args.runs + 3):
            for name, path in repos.items():
                start = time.perf_counter()
                sh(path, "git", "commit", "-q", "--allow-empty", "-m", "x", env=env)
                if i >= 3:  # warm-up rounds
                    times[name].append((time.perf_counter() - start) * 1000)
            # The floor no hook written in Python can go under: starting the interpreter.
            start = time.perf_counter()
            sh(bare, sys.executable, "-S", "-c", "pass", env=env)
            if i >= 3:
                times["floor"].append((time.perf_counter() - start) * 1000)
    base = statistics.median(times["none"])
    ossa_added = statistics.median(times["ossa"]) - base
    pc_added = statistics.median(times["pre-commit"]) - base
    print(f"git commit --allow-empty, median of {args.runs} runs")
    print(f"  no hooks                 {base:7.1f} ms")
    print(f"  ossa-hooks (all hooks)   {statistics.median(times['ossa']):7.1f} ms"
          f"  added {ossa_added:6.1f} ms  (target <= {TARGET_MS:.0f} ms)")
    print(f"  pre-commit (1 no-op)     {statistics.median(times['pre-commit']):7.1f} ms"
          f"  added {pc_added:6.1f} ms")
    print(f"  python -S -c pass        {statistics.median(times['floor']):7.1f} ms"
          "  (interpreter start alone, part of the added time)")
    print(f"  ratio pre-commit / ossa-hooks added time: {pc_added / max(ossa_added, 0.01):.1f}x")
    print(f"  target met: {'yes' if ossa_added <= TARGET_MS else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
