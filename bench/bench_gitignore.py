"""Time the ``ossa-gitignore`` pre-commit hook against a bare ``git diff --cached --name-only``
on a 2,000-file repository, in one run; print the medians and their ratio.

    python bench/bench_gitignore.py [--files 2000] [--runs 21]

Three figures per scenario:
  git diff      ``git diff --cached --name-only`` alone (the least a staged-path check must do)
  check()       the hook's work in-process: ``ossa_hooks.gitignore.check`` (git calls included)
  hook process  what git runs: the shim's ``python -c 'from ossa_hooks.run import shim_main'``
                for the ``ossa-gitignore`` action (interpreter start, config, audit event)
Scenarios: a one-file commit in a 2,000-file repository; 2,000 files staged at once (first
commit); the same with one forbidden file among them (the refusal path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ossa_hooks import config as config_mod
from ossa_hooks import git as git_mod
from ossa_hooks import gitignore

TARGET_HOOK_MS = 60.0  # issue 4: a one-file commit, added time of the whole pre-commit hook
TARGET_CHECK_RATIO = 2.0  # the in-process check vs one `git diff --cached --name-only`

HOOK_CODE = "import sys\nfrom ossa_hooks.run import shim_main\nsys.exit(shim_main())"


def sh(cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    sh(repo, "init", "-q")
    for i in range(files):
        d = repo / f"pkg{i % 40:02d}" / f"mod{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"file_{i:04d}.py").write_text(f"VALUE_{i} = {i}\n" * 20)
    (repo / ".ossa-hooks.yaml").write_text("hooks:\n  pre-commit: [ossa-gitignore]\n")
    cfg = config_mod.load(repo)
    gitignore.fix(git_mod.repo_paths(repo), cfg)
    sh(repo, "add", "-A")
    return repo


def median_ms(func: Callable[[], object], runs: int) -> float:
    func()  # warm the page cache and git's index stat data
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def scenario(name: str, repo: Path, runs: int, expect: int) -> tuple[float, float, float, float]:
    env = git_mod.no_git_env()
    repo_paths = git_mod.repo_paths(repo)
    cfg = config_mod.load(repo)

    def bare_diff() -> None:
        subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=repo, env=env,
                       check=True, capture_output=True)

    def in_process() -> None:
        report = gitignore.check(repo_paths, cfg, staged_only=True, environ=env)
        assert bool(report.refused) == bool(expect), report

    def hook_process(skip: bool = False) -> None:
        rc = subprocess.run([sys.executable, "-c", HOOK_CODE, "ossa-gitignore"], cwd=repo,
                            env={**env, "SKIP": "ossa-gitignore"} if skip else env,
                            capture_output=True, check=False).returncode
        assert rc == (0 if skip else expect), rc

    diff_ms = median_ms(bare_diff, runs)
    check_ms = median_ms(in_process, runs)
    hook_ms = median_ms(hook_process, runs)
    skip_ms = median_ms(lambda: hook_process(skip=True), runs)
    staged = len(subprocess.run(["git", "diff", "--cached", "--name-only", "-z"], cwd=repo,
                                env=env, capture_output=True, check=True).stdout.split(b"\0")) - 1
    print(f"\n{name} ({staged} staged paths, median of {runs} runs)")
    print(f"  git diff --cached --name-only  {diff_ms:7.1f} ms")
    print(f"  ossa-gitignore check()         {check_ms:7.1f} ms   ratio {check_ms / diff_ms:5.2f}x")
    print(f"  ossa-gitignore hook process    {hook_ms:7.1f} ms   ratio {hook_ms / diff_ms:5.2f}x")
    print(f"  the same with SKIP=ossa-gitignore {skip_ms:4.1f} ms   (interpreter, config, audit:"
          f" ossa-gitignore adds {hook_ms - skip_ms:.1f} ms)")
    return diff_ms, check_ms, hook_ms, skip_ms


def main() -> int:
    import compileall

    # Measure the package as pip installs it: byte-compiled (this environment may set
    # PYTHONDONTWRITEBYTECODE, which would make every hook run recompile ossa_hooks).
    compileall.compile_dir(str(Path(gitignore.__file__).parent), quiet=1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gitignore-") as tmp:
        repo = make_repo(Path(tmp), args.files)
        env = {**git_mod.no_git_env(), "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
        first = scenario(f"first commit of a {args.files}-file repository", repo, args.runs, 0)
        (repo / "pkg00" / "prod.pem").write_text("-----\n")
        sh(repo, "add", "-f", "pkg00/prod.pem")
        scenario("the same with one forbidden file staged (refused)", repo, args.runs, 1)
        sh(repo, "rm", "-q", "-f", "pkg00/prod.pem")
        sh(repo, "commit", "-q", "--no-verify", "-m", "base", env=env)
        (repo / "pkg01" / "mod1" / "file_0001.py").write_text("changed = 1\n")
        sh(repo, "add", "-A")
        one = scenario(f"one-file commit in a {args.files}-file repository", repo, args.runs, 0)
    added = one[2] - one[3]
    ratio_ok = max(one[1] / one[0], first[1] / first[0]) <= TARGET_CHECK_RATIO
    print(f"\ntargets: ossa-gitignore adds <= {TARGET_HOOK_MS:.0f} ms to a one-file commit "
          f"({'met' if added <= TARGET_HOOK_MS else 'MISSED'}: {added:.1f} ms; whole hook process"
          f" {one[2]:.1f} ms); "
          f"check() <= {TARGET_CHECK_RATIO:.0f}x git diff "
          f"({'met' if ratio_ok else 'MISSED'})")
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
    print(f"python {sys.version.split()[0]}, {git_version}, {os.cpu_count()} CPUs,"
          f" load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
