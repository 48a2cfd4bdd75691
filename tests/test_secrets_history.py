"""History scans (ossa_hooks/secrets/history.py): ``scan --rev`` and ``--all-history`` read one
``git diff-tree --stdin`` stream; each finding names the commit that added it, on every branch,
in one process or two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit_files
from conftest import git
from conftest import ossa
from conftest import rnd

from ossa_hooks.secrets import history


def token(seed: str) -> str:
    return "ghp_" + rnd(36, seed)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.mark.parametrize("parallel", [False, True])
def test_all_history_finds_each_secret_in_the_commit_that_added_it(
        committed_repo: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool) -> None:
    shas = {}
    for i in range(6):
        commit_files(committed_repo, {f"f{i}.py": f'T = "{token(f"h{i}")}"\n' if i % 2 else
                                      f"x = {i}\n"})
        shas[i] = head(committed_repo)
    git(committed_repo, "checkout", "-q", "-b", "side")
    commit_files(committed_repo, {"side.py": f'S = "{token("side")}"\n'})
    side = head(committed_repo)
    git(committed_repo, "checkout", "-q", "main")
    commit_files(committed_repo, {"f1.py": "T = None\n"})  # removed later: still in history
    if parallel:
        monkeypatch.setattr(history, "PARALLEL_COMMITS", 2)
    from ossa_hooks import config
    from ossa_hooks import git as ossa_git
    from ossa_hooks.secrets import engine

    repo = ossa_git.repo_paths(committed_repo)
    result = engine.scan_rev(repo, config.load(str(committed_repo)), None)
    found = sorted((f.path, f.commit) for f in result.findings)
    assert found == sorted([("f1.py", shas[1]), ("f3.py", shas[3]), ("f5.py", shas[5]),
                            ("side.py", side)])


def test_rev_range_and_cli(committed_repo: Path) -> None:
    base = head(committed_repo)
    commit_files(committed_repo, {"a.py": f'T = "{token("a")}"\n'})
    commit_files(committed_repo, {"b.py": "x = 1\n"})
    r = ossa(committed_repo, "scan", "--rev", f"{base}..HEAD", "--format", "json")
    assert r.returncode == 1, r.stderr
    (f,) = json.loads(r.stdout)
    assert f["path"] == "a.py" and f["commit"] == git(committed_repo, "rev-parse",
                                                      "HEAD~1").stdout.strip()
    r = ossa(committed_repo, "scan", "--all-history")
    assert r.returncode == 1 and "the whole history" in r.stdout
    assert ossa(committed_repo, "scan", "--rev", "HEAD").returncode == 0


def test_commit_ids_are_cut_only_at_line_starts() -> None:
    sha = "a" * 40
    path_like_sha = "b" * 40
    stream = (f"{sha}\0:100644 100644 {'0' * 40} {'1' * 40} M\0{path_like_sha}\0\0"
              f"diff --git a/x b/x\n@@ -1 +1 @@\n+x\n{'c' * 40}\0").encode()
    starts = history._commit_starts(stream)
    assert [stream[a:b].decode() for a, b in starts] == [sha, "c" * 40]
