"""Benchmark: what an idle ``ossa-hooks backup watch`` costs, beside a shell's ``sleep``.

A repository of 2,000 files in 40 folders; the watcher is started, given time to settle, then
measured over ``--seconds`` with no change: CPU (user + sys from /proc/PID/stat) as a share of
one CPU, and resident memory (VmRSS). The same for ``sleep`` (the floor: a process doing
nothing). Then one change, to show the watcher wakes and snapshots.

Targets (issue 11): idle under 0.5 % of a CPU and under 30 MB.

    python bench/bench_watch.py [--seconds 20] [--files 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _repo import bench_env

CPU_TARGET = 0.5
RSS_TARGET_MB = 30.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def idle_cost(pid: int, seconds: float) -> tuple[float, float]:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds * 100, rss_mb(pid)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    env = bench_env(root)
    repo = root / "repo"
    repo.mkdir()

    def g(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=repo, env=env, check=True,
                              capture_output=True, text=True).stdout

    g("init", "-q", "-b", "main")
    for i in range(args.files):
        folder = repo / f"pkg{i % 40}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{i}.py").write_text(f"x = {i}\n")
    g("add", "-A")
    g("commit", "-q", "-m", "base")
    exe = str(Path(sys.executable).with_name("ossa-hooks"))
    watcher = subprocess.Popen([exe, "backup", "watch", "--debounce", "0.5", "--idle", "60"],
                               cwd=repo, env=env, stdout=subprocess.PIPE, text=True)
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        assert watcher.stdout is not None
        watcher.stdout.readline()
        time.sleep(3)  # settle: inotify watches in place, imports done
        ours = idle_cost(watcher.pid, args.seconds)
        floor = idle_cost(sleeper.pid, 1.0)
        (repo / "pkg0" / "f0.py").write_text("x = 'changed'\n")
        start = time.perf_counter()
        while not g("for-each-ref", "refs/heads/backup/").strip():
            time.sleep(0.05)
            if time.perf_counter() - start > 60:
                break
        woke = time.perf_counter() - start
    finally:
        watcher.terminate()
        sleeper.kill()
        watcher.wait()
        sleeper.wait()
    print(f"idle over {args.seconds:g} s, repository of {args.files} files:")
    print(f"  ossa-hooks backup watch   CPU {ours[0]:6.3f} % of one CPU   RSS {ours[1]:6.1f} MB")
    print(f"  sleep (the floor)         CPU {floor[0]:6.3f} % of one CPU   RSS {floor[1]:6.1f} MB")
    print(f"one change -> snapshot in {woke:.2f} s (debounce 0.5 s)")
    ok_cpu = ours[0] < CPU_TARGET
    ok_rss = ours[1] < RSS_TARGET_MB
    print(f"targets: CPU < {CPU_TARGET} %: {'met' if ok_cpu else 'MISSED'};"
          f" RSS < {RSS_TARGET_MB:.0f} MB: {'met' if ok_rss else 'MISSED'}")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
