"""``ossa-hooks ruff check|format``, the judge's read-only lint and format checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import commit_files
from conftest import git
from conftest import ossa

UNUSED = "import os\n\n\ndef one():\n    return 1\n"


def test_never_fixes_although_the_project_says_fix_true(committed_repo: Path) -> None:
    commit_files(committed_repo, {"pyproject.toml": "[tool.ruff]\nfix = true\n",
                                  "pkg/util.py": UNUSED})
    res = ossa(committed_repo, "ruff", "check")
    assert res.returncode == 1
    assert res.stdout.startswith("$ ruff check --no-fix .\n")
    assert "F401" in res.stdout
    assert (committed_repo / "pkg" / "util.py").read_text() == UNUSED


def test_with_a_base_only_the_files_the_push_changes_are_checked(committed_repo: Path) -> None:
    commit_files(committed_repo, {"old.py": UNUSED})  # there before: not this push's business
    base = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    env = {**os.environ, "OSSA_JUDGE_BASE": base}
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 0
    assert res.stdout == f"ruff check: no Python file changed since {base[:10]}\n"
    commit_files(committed_repo, {"new.py": "x = 1\n"})
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 0, res.stdout
    assert res.stdout.startswith(f"$ ruff check --no-fix --isolated --select E4,E7,E9,F "
                                 f"(1 file(s) changed since {base[:10]})")
    commit_files(committed_repo, {"new.py": UNUSED})
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 1 and "new.py:1:8" in res.stdout and "old.py" not in res.stdout
    assert ossa(committed_repo, "ruff", "check").returncode == 1  # no base: the whole tree


def test_format_checks_and_never_writes(committed_repo: Path) -> None:
    commit_files(committed_repo, {"x.py": "x = [1,2]\n"})
    res = ossa(committed_repo, "ruff", "format")
    assert res.returncode == 1 and "would be reformatted" in res.stdout
    assert (committed_repo / "x.py").read_text() == "x = [1,2]\n"


OLD_STYLE = ("from typing import List\n\n\ndef first(values: List[int]) -> int:\n"
             "    return values[0]\n")


def test_a_project_without_ruff_settings_gets_the_classic_rules_only(
        committed_repo: Path, tmp_path: Path) -> None:
    # newer ruff releases select pyupgrade & co. by default: `List` would be refused in a
    # project that never chose those rules (and may still support Python 3.8)
    user = tmp_path / "xdg"
    (user / "ruff").mkdir(parents=True)
    (user / "ruff" / "ruff.toml").write_text('[lint]\nselect = ["D"]\n')  # a person's taste
    env = {**os.environ, "XDG_CONFIG_HOME": str(user)}
    commit_files(committed_repo, {"pyproject.toml": "[project]\nname = 'x'\n",
                                  "old.py": OLD_STYLE})
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 0, res.stdout
    assert res.stdout.startswith("$ ruff check --no-fix --isolated --select E4,E7,E9,F .\n")
    assert "no ruff settings in this project" in res.stdout
    commit_files(committed_repo, {"old.py": "import os\n" + OLD_STYLE})
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 1 and "F401" in res.stdout and "--> old.py:1:8" in res.stdout
    assert "UP0" not in res.stdout and "D100" not in res.stdout


@pytest.mark.parametrize("settings", [("pkg/pyproject.toml", "[tool.ruff.lint]\n"),
                                      ("pkg/ruff.toml", "[lint]\n")])
def test_ruff_settings_anywhere_in_the_tree_are_the_projects_own(
        committed_repo: Path, settings: tuple[str, str]) -> None:
    path, table = settings
    commit_files(committed_repo, {path: table + 'select = ["UP"]\n', "pkg/old.py": OLD_STYLE})
    out = ossa(committed_repo, "ruff", "check").stdout
    assert out.startswith("$ ruff check --no-fix .\n") and "--isolated" not in out
    assert "UP035" in out and "--> pkg/old.py:1:1" in out and "Found 2 errors" in out


LEGACY = ("import os\n\n\ndef is_unset(value):\n    return value == None\n\n\n"
          "def cwd():\n    return os.getcwd()\n")


def test_with_a_base_only_the_findings_the_push_adds_count(committed_repo: Path) -> None:
    commit_files(committed_repo, {"legacy.py": LEGACY, "moved.py": LEGACY})
    base = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    env = {**os.environ, "OSSA_JUDGE_BASE": base}
    # a comment in a file with an older `== None`, and a renamed file: nothing new
    git(committed_repo, "mv", "moved.py", "renamed.py")
    commit_files(committed_repo, {"legacy.py": "# the legacy helpers\n" + LEGACY})
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 0, res.stdout
    assert f"(unchanged since {base[:10]}, not counted) legacy.py:6:21: E711" in res.stdout
    assert f"(unchanged since {base[:10]}, not counted) renamed.py:5:21: E711" in res.stdout
    assert res.stdout.endswith(f"ruff: 0 new finding(s) in the files changed since {base[:10]}"
                               ", 2 there before\n")
    # the last use of `os` removed: the unused import is on a line the push did not touch,
    # and it is new all the same
    commit_files(committed_repo, {"legacy.py": LEGACY.replace("os.getcwd()", "'.'")})
    res = ossa(committed_repo, "ruff", "check", env=env)
    assert res.returncode == 1
    assert res.stdout.splitlines()[2] == "legacy.py:1:8: F401 `os` imported but unused"
    assert "ruff: 1 new finding(s)" in res.stdout


def test_with_a_base_a_ruff_that_cannot_run_fails_the_check(committed_repo: Path) -> None:
    base = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    commit_files(committed_repo, {"pyproject.toml": '[tool.ruff]\nline-length = "long"\n',
                                  "x.py": "x = 1\n"})
    res = ossa(committed_repo, "ruff", "check", env={**os.environ, "OSSA_JUDGE_BASE": base})
    assert res.returncode == 2
    assert res.stdout.splitlines()[1].startswith("ruff failed: ")
    assert "line-length" in res.stdout


def test_with_a_base_format_counts_only_the_files_the_push_leaves_unformatted(
        committed_repo: Path) -> None:
    commit_files(committed_repo, {"legacy.py": "x = [1,2]\n", "tidy.py": "y = [1, 2]\n"})
    base = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    env = {**os.environ, "OSSA_JUDGE_BASE": base}
    # a touched file that was unformatted before: listed, not counted
    commit_files(committed_repo, {"legacy.py": "# legacy\nx = [1,2]\n"})
    res = ossa(committed_repo, "ruff", "format", env=env)
    assert res.returncode == 0, res.stdout
    assert f"(unformatted at {base[:10]} too, not counted) legacy.py" in res.stdout
    # a formatted file made unformatted, and a new unformatted one: counted
    commit_files(committed_repo, {"tidy.py": "y = [1,2]\n", "fresh.py": "z = {'a':1}\n"})
    res = ossa(committed_repo, "ruff", "format", env=env)
    assert res.returncode == 1, res.stdout
    assert "would reformat: tidy.py" in res.stdout and "would reformat: fresh.py" in res.stdout
    assert res.stdout.rstrip().endswith(f"ruff format: 2 file(s) changed since {base[:10]} left"
                                        " unformatted, 1 unformatted before (ruff format FILE"
                                        " fixes them)")
    assert (committed_repo / "tidy.py").read_text() == "y = [1,2]\n"  # never written
    commit_files(committed_repo, {"tidy.py": "y = [1, 2]\n", "fresh.py": 'z = {"a": 1}\n'})
    res = ossa(committed_repo, "ruff", "format", env=env)
    assert res.returncode == 0, res.stdout
