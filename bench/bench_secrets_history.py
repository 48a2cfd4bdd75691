"""History scans: ossa-hooks and gitleaks over every commit of a real repository, in one run.

``ossa-hooks scan --all-history`` (one ``git diff-tree --stdin`` stream, two processes when
two CPUs are free) beside ``gitleaks git`` (its ``git log -p`` stream) and, for scale,
``git log -p`` alone. Interleaved runs; medians of wall time, peak memory, findings.
Target: ossa-hooks wall <= gitleaks wall.

The repository is a clone given on the command line (a fetched psf/requests: 6,489 commits):

    pip install -e '.[bench]'
    python bench/bench_secrets_history.py PATH/TO/CLONE [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_secrets import gitleaks_binary
from bench_secrets import measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="a clone with a long history")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo = args.repo.resolve()
    commits = subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, check=True,
                             capture_output=True, text=True).stdout.strip()
    gitleaks = gitleaks_binary()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "gitleaks.json"
        cmds = {
            "ossa-hooks": [str(Path(sys.executable).with_name("ossa-hooks")), "scan",
                           "--all-history", "--format", "json"],
            "git log -p": ["git", "log", "-p", "-U0", "--all", "--no-color"],
        }
        if gitleaks:
            cmds["gitleaks"] = [gitleaks, "git", ".", "--no-banner", "--log-level", "error",
                                "--exit-code", "0", "-f", "json", "-r", str(report)]
        walls: dict[str, list[float]] = {k: [] for k in cmds}
        peaks: dict[str, float] = dict.fromkeys(cmds, 0.0)
        found: dict[str, int] = {}
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GIT_")}
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                wall, rss, out, _code = measure(cmd, repo, env)
                walls[name].append(wall)
                peaks[name] = max(peaks[name], rss)
                if name == "ossa-hooks":
                    found[name] = len(json.loads(out))
                elif name == "gitleaks":
                    found[name] = len(json.loads(report.read_text() or "[]"))
    print(f"whole history of {repo.name}: {commits} commits, median of {args.runs} runs")
    print(f"   {'tool':12s} {'wall':>9s} {'peak memory':>12s} {'findings':>9s}")
    for name in cmds:
        n = found.get(name)
        print(f"   {name:12s} {statistics.median(walls[name]):7.2f} s {peaks[name]:9.0f} MB "
              f"{'' if n is None else n:>9}")
    if "gitleaks" in walls:
        ours, theirs = statistics.median(walls["ossa-hooks"]), statistics.median(walls["gitleaks"])
        print(f"   gitleaks / ossa-hooks wall: {theirs / ours:.2f}x  (target >= 1.0: "
              f"{'met' if ours <= theirs else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
