"""``ossa-hooks bandit``, the judge's default security check, on real files with real bandit."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import ossa

# LOW findings a mature project has everywhere: B404 (import subprocess), B603, B607, B110,
# B101 (assert).
HEALTHY = '''import subprocess


def run_ls():
    assert True
    try:
        pass
    except Exception:
        pass
    return subprocess.run(["ls"], check=False)
'''
SHELL = '''import subprocess


def run(user_input):
    return subprocess.run(user_input, shell=True)
'''
TEST = "def test_it():\n    assert 1 + 1 == 2\n"


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def test_defaults_pass_low_findings_and_asserts_in_test_files_anywhere(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/mod.py": HEALTHY, "test_top.py": TEST, "pkg/sub/util_test.py": TEST,
                     "conftest.py": "assert True\n"})
    res = ossa(tmp_path, "bandit")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == ("bandit: 0 findings (defaults: medium severity and up, B101 skipped "
                          "in test files)\n")


def test_defaults_refuse_a_shell_with_user_input_and_list_every_finding(tmp_path: Path) -> None:
    files = {f"pkg/m{i:02}.py": SHELL for i in range(25)}
    write(tmp_path, {**files, "pkg/mod.py": HEALTHY})
    res = ossa(tmp_path, "bandit")
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert len(lines) == 26  # every finding, one line each, then the summary
    assert lines[0] == ("pkg/m00.py:5: B602 [HIGH/HIGH] subprocess call with shell=True "
                        "identified, security issue.")
    assert lines[-1].startswith("bandit: 25 findings (defaults:")


def test_the_projects_own_configuration_rules_when_there_is_one(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/bad.py": SHELL,
                     "pyproject.toml": '[tool.bandit]\nskips = ["B602", "B404"]\n'})
    res = ossa(tmp_path, "bandit")
    assert res.returncode == 0, res.stdout
    assert "(the project's pyproject.toml [tool.bandit])" in res.stdout

    (tmp_path / "pyproject.toml").unlink()
    write(tmp_path, {".bandit": "[bandit]\nskips: B602\n"})
    res = ossa(tmp_path, "bandit")
    # the project's settings, not ossa-hooks' threshold: its LOW findings count
    assert res.returncode == 1
    assert res.stdout.splitlines() == [
        "pkg/bad.py:1: B404 [LOW/HIGH] Consider possible security implications associated "
        "with the subprocess module.",
        "bandit: 1 finding (the project's .bandit)",
    ]


def test_environments_in_the_project_are_not_scanned(tmp_path: Path) -> None:
    write(tmp_path, {".venv/lib/site.py": SHELL, "venv/x.py": SHELL, "ok.py": "x = 1\n"})
    res = ossa(tmp_path, "bandit")
    assert res.returncode == 0, res.stdout


def test_with_a_base_only_findings_in_changed_lines_count(committed_repo: Path) -> None:
    """What the push adds is judged: a finding that was there before is listed, not counted."""
    from conftest import commit_files
    from conftest import git

    commit_files(committed_repo, {"pkg/pager.py": SHELL})  # click's pager has one too
    base = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    commit_files(committed_repo, {"pkg/other.py": "x = 1\n"})
    env = {**os.environ, "OSSA_JUDGE_BASE": base}
    res = ossa(committed_repo, "bandit", env=env)
    assert res.returncode == 0, res.stdout
    assert res.stdout.splitlines() == [
        f"(unchanged since {base[:10]}, not counted) pkg/pager.py:5: B602 [HIGH/HIGH] "
        "subprocess call with shell=True identified, security issue.",
        f"bandit: 0 findings in lines changed since {base[:10]} (defaults: medium severity and "
        "up, B101 skipped in test files)",
    ]
    commit_files(committed_repo, {"pkg/new.py": SHELL})
    res = ossa(committed_repo, "bandit", env=env)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0].startswith("pkg/new.py:5: B602 [HIGH/HIGH]")
    # without a base (a first push, a new repository) every finding counts
    assert ossa(committed_repo, "bandit").returncode == 1
