"""``ossa-hooks doctor``: one line per hook per worktree, problems counted, exit 1 on any."""

from __future__ import annotations

from pathlib import Path

from conftest import git
from conftest import ossa

from ossa_hooks.config import HOOK_TYPES as HOOKS
from ossa_hooks.doctor import PROBLEMS


def test_healthy_repository(committed_repo: Path, tmp_path: Path) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    linked = tmp_path / "linked"
    git(committed_repo, "worktree", "add", "-q", "-b", "side", str(linked))
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip().endswith("all good")
    assert f"ok      {linked}: pre-push: shim -> " in proc.stdout
    assert f"ok      {committed_repo}: pre-commit: shim -> " in proc.stdout


def test_reports_missing_foreign_and_broken_hooks(committed_repo: Path) -> None:
    assert ossa(committed_repo, "install", "-t", "pre-commit", "-t", "pre-push").returncode == 0
    hooks = committed_repo / ".git" / "hooks"
    (hooks / "post-merge").write_text("#!/bin/sh\n")
    shim = hooks / "pre-push"
    shim.write_text(
        "\n".join(
            "OSSA_PYTHON=/nowhere/python" if line.startswith("OSSA_PYTHON=") else line
            for line in shim.read_text().splitlines()
        )
    )
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 1
    out = proc.stdout
    assert f"missing {committed_repo}: post-checkout: not installed" in out
    assert f"foreign {committed_repo}: post-merge:" in out
    assert "ossa's actions do not run (run `ossa-hooks install`)" in out
    assert f"problem {committed_repo}: pre-push: interpreter /nowhere/python is gone" in out
    assert f"missing {committed_repo}: reference-transaction: not installed" in out
    problems = [line for line in out.splitlines() if line.split(" ", 1)[0] in PROBLEMS]
    assert len(problems) >= 4
    assert out.strip().endswith(f"{len(problems)} problem(s)")


def test_not_executable(committed_repo: Path) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    (committed_repo / ".git" / "hooks" / "pre-commit").chmod(0o644)
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 1
    assert "pre-commit: " in proc.stdout and "is not executable" in proc.stdout


def test_outside_a_repository(tmp_path: Path) -> None:
    proc = ossa(tmp_path, "doctor")
    assert proc.returncode == 2
    assert "not a git repository" in proc.stderr


def test_a_shim_from_an_older_version_is_pointed_out(committed_repo: Path) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    proc = ossa(committed_repo, "doctor")
    assert "older ossa-hooks" not in proc.stdout
    shim = committed_repo / ".git" / "hooks" / "post-checkout"
    shim.write_text(shim.read_text().replace("# ossa-hooks-shim-version: 3",
                                             "# ossa-hooks-shim-version: 1"))
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 0  # it still works: a note, not a problem
    assert (f"ok      {committed_repo}: post-checkout: shim -> " in proc.stdout
            and "(written by an older ossa-hooks: `ossa-hooks install` again updates it)"
            in proc.stdout)
    assert ossa(committed_repo, "install").returncode == 0
    assert "older ossa-hooks" not in ossa(committed_repo, "doctor").stdout


def test_json_output_has_the_same_findings(committed_repo: Path) -> None:
    import json

    assert ossa(committed_repo, "install", "-t", "pre-commit").returncode == 0
    proc = ossa(committed_repo, "doctor", "--format", "json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["problems"] == sum(f["problem"] for f in report["findings"])
    missing = [f for f in report["findings"] if f["status"] == "missing"
               and f["text"] == "not installed"]
    assert {f["where"].rsplit(": ", 1)[1] for f in missing} == set(HOOKS) - {"pre-commit"}
    assert all(f["fix"] == "ossa-hooks install" and f["problem"] for f in missing)
    ok = [f for f in report["findings"] if f["status"] == "ok"]
    assert any(f["text"] == "config valid" for f in ok)


def test_fix_runs_a_checks_fixer_and_checks_again(committed_repo: Path) -> None:
    from ossa_hooks import doctor as doctor_mod
    from ossa_hooks.git import repo_paths

    marker = committed_repo / "fixed"
    calls: list[str] = []

    def check(repo: object) -> list[doctor_mod.Finding]:
        if marker.exists():
            return [doctor_mod.Finding("ok", "repository", "marker present")]
        return [doctor_mod.Finding("problem", "repository", "marker missing", "doctor --fix")]

    def fixer(repo: object) -> list[str]:
        calls.append("fix")
        marker.write_text("")
        return ["repository: wrote the marker"]

    import sys
    import types

    mod = types.ModuleType("doctor_probe")
    mod.check = check  # type: ignore[attr-defined]
    mod.fixer = fixer  # type: ignore[attr-defined]
    sys.modules["doctor_probe"] = mod
    try:
        checks = (doctor_mod.Check("probe", "repository", "doctor_probe:check",
                                   "doctor_probe:fixer"),)
        repo = repo_paths(str(committed_repo))
        first = doctor_mod.run_checks(repo, [], checks)
        assert [f.is_problem for _, f in first] == [True]
        assert doctor_mod._fix(repo, first) == ["repository: wrote the marker"]
        assert [f.text for _, f in doctor_mod.run_checks(repo, [], checks)] == ["marker present"]
        assert calls == ["fix"]
    finally:
        del sys.modules["doctor_probe"]


def test_an_older_shim_that_renamed_huskys_wrapper_is_a_problem(committed_repo: Path) -> None:
    hooks = committed_repo / ".git" / "hooks"
    assert ossa(committed_repo, "install").returncode == 0
    (hooks / "pre-commit.legacy").write_text('#!/usr/bin/env sh\n. "$(dirname "$0")/h"')
    (hooks / "pre-commit.legacy").chmod(0o755)
    text = (hooks / "pre-commit").read_text()
    (hooks / "pre-commit").write_text(text.replace("shim-version: 3", "shim-version: 2"))
    proc = ossa(committed_repo, "doctor", "--format", "json")
    assert proc.returncode == 1
    import json

    found = [f for f in json.loads(proc.stdout)["findings"] if f["where"].endswith("pre-commit")]
    assert found == [{"status": "problem", "where": f"{committed_repo}: pre-commit",
                      "text": "husky's scripts do not run (its wrapper was renamed)",
                      "fix": "ossa-hooks install", "problem": True}]


def test_only_the_hook_types_the_config_gives_actions_are_checked(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text(
        "hooks:\n  pre-commit: [ossa-secrets]\n  pre-push: []\n  post-checkout: []\n"
        "  post-merge: []\n  pre-rebase: []\n  reference-transaction: []\n")
    assert ossa(committed_repo, "install", "-t", "pre-commit").returncode == 0
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 0, proc.stdout
    assert "pre-push" not in proc.stdout


def test_a_hook_chained_where_nothing_runs_it(committed_repo: Path) -> None:
    hooks = committed_repo / ".git" / "hooks"
    assert ossa(committed_repo, "install").returncode == 0
    (hooks / "post-merge").rename(hooks / "post-merge.ossa-chained")
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 1
    assert (f"missing {committed_repo}: post-merge: not installed, and post-merge.ossa-chained"
            " is not run by anything (run `ossa-hooks install`)") in proc.stdout


def test_fix_repairs_the_hooks(committed_repo: Path) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    (committed_repo / ".git" / "hooks" / "pre-push").unlink()
    proc = ossa(committed_repo, "doctor", "--fix")
    assert proc.returncode == 0, proc.stdout
    assert "fixed   hooks: pre-push: installed" in proc.stdout
    assert proc.stdout.strip().endswith("all good")


def test_a_shim_chaining_another_shim_runs_twice(committed_repo: Path) -> None:
    hooks = committed_repo / ".git" / "hooks"
    assert ossa(committed_repo, "install").returncode == 0
    (hooks / "pre-push.ossa-chained").write_bytes((hooks / "pre-push").read_bytes())
    (hooks / "pre-push.ossa-chained").chmod(0o755)
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 1
    assert ("pre-push: ossa's actions run twice: shim pre-push and pre-push.ossa-chained"
            " (an ossa-hooks shim it runs first) (run `ossa-hooks install`)") in proc.stdout
    proc = ossa(committed_repo, "install")
    assert "pre-push: already installed (removed pre-push.ossa-chained: an ossa-hooks shim too)" \
        in proc.stdout
    assert ossa(committed_repo, "doctor").returncode == 0
