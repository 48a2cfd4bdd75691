"""``ossa-hooks spawn "TASK"``: the files it writes (specs, workflow definition, script), the
budgets it takes from the config and the task's .env, --provider/--command/--module, and the
info/exclude lines shared by every worktree. (The happy path with config budgets and --force
is in test_agents_runner.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import git
from conftest import ossa

from ossa_hooks.agents import spawn as spawn
from ossa_hooks.agents import specs as agents
from ossa_hooks.cli import main
from ossa_hooks.errors import OssaError

Here = Callable[..., tuple[int, str, str]]
WS = ".agents-workspace"
WRITTEN = [f"{WS}/agents/researcher.yaml", f"{WS}/agents/coder.yaml",
           f"{WS}/agents/reviewer.yaml", f"{WS}/workflows/360-loop.yaml",
           f"{WS}/execute-task.sh"]


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Here:
    """``here(folder, *args)``: ``ossa-hooks spawn *args`` in-process in ``folder`` (fast);
    returns (exit code, stdout, stderr)."""

    def call(folder: Path, *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(folder)
        capsys.readouterr()
        try:
            code = main(["spawn", "--here", *args])
        except SystemExit as e:  # argparse's own errors
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return call


def specs(wt: Path) -> dict[str, agents.AgentSpec]:
    return agents.load_workspace_specs(wt)


def workflow_doc(wt: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((wt / WS / "workflows" / "360-loop.yaml").read_text(encoding="utf-8"))


def budget_report(wt: Path) -> dict:  # type: ignore[type-arg]
    proc = ossa(wt, "budget", "report", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_prints_what_it_wrote_with_the_default_provider(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "spawn", "--here", "Add a greet() function")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [*(f"wrote {p}" for p in WRITTEN),
        "next: .agents-workspace/execute-task.sh   (or: ossa-hooks workflow run)"]
    found = specs(committed_repo)
    assert sorted(found) == ["coder", "researcher", "reviewer"]
    assert {s.provider.type for s in found.values()} == {"claude-code"}
    assert {n: s.budget for n, s in found.items()} == {
        "researcher": 4000, "coder": 4000, "reviewer": 2000}
    for sub in ("data", "logs", "metrics", "config"):
        assert (committed_repo / WS / sub).is_dir()
    doc = workflow_doc(committed_repo)
    assert (doc["task"], doc["budget"], doc["max_review_rounds"]) == (
        "Add a greet() function", 12000, 2)
    assert [p["name"] for p in doc["phases"]] == [
        "1_plan", "2_execute", "3_review", "4_judge", "5_learn", "6_govern"]


def test_budgets_and_review_rounds_from_the_config(committed_repo: Path, here: Here) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text(
        "budget:\n  task: 20000\n  agents: {researcher: 111, reviewer: 333}\n"
        "workflow:\n  max_review_rounds: 5\n")
    assert here(committed_repo, "t")[0] == 0
    found = specs(committed_repo)
    # budget.agents is merged with the defaults: the coder keeps its 4000.
    assert {n: s.budget for n, s in found.items()} == {
        "researcher": 111, "coder": 4000, "reviewer": 333}
    doc = workflow_doc(committed_repo)
    assert (doc["budget"], doc["max_review_rounds"]) == (20000, 5)
    report = budget_report(committed_repo)
    assert report["task"]["budget"] == 20000
    assert {n: a["budget"] for n, a in report["agents"].items()} == {
        "researcher": 111, "coder": 4000, "reviewer": 333}


def test_the_tasks_env_budget_wins_over_the_config(committed_repo: Path,
                                                   tmp_path: Path) -> None:
    wt = tmp_path / "task wt"
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/envtask", str(wt))
    (wt / ".env").write_text("OSSA_TASK_NAME=envtask\nOSSA_BRANCH=agents/coder/envtask\n"
                             "OSSA_TOKEN_BUDGET_TASK=7777\n")
    (wt / ".ossa-hooks.yaml").write_text("budget:\n  task: 20000\n")
    proc = ossa(wt, "spawn", "from env")
    assert proc.returncode == 0, proc.stderr
    assert workflow_doc(wt)["budget"] == 7777
    report = budget_report(wt)
    assert (report["task"]["name"], report["task"]["budget"]) == ("envtask", 7777)
    # Written in the linked worktree only, excluded through the shared info/exclude.
    assert not (committed_repo / WS).exists()
    assert git(wt, "status", "--porcelain", "--untracked-files=all").stdout.split() == [
        "??", ".env", "??", ".ossa-hooks.yaml"]


def test_odd_task_descriptions_stay_one_yaml_string(committed_repo: Path, here: Here) -> None:
    task = '  Fix "quoted": {braces} [x] #hash ${task} — ünïcode\nsecond line: yes  '
    code, _, err = here(committed_repo, task)
    assert code == 0, err
    assert workflow_doc(committed_repo)["task"] == task.strip()


@pytest.mark.parametrize("task", ["", "   ", "\n\t"])
def test_an_empty_task_writes_nothing(committed_repo: Path, here: Here, task: str) -> None:
    code, _, err = here(committed_repo, task)
    assert code == 2
    assert 'spawn needs a task description: ossa-hooks spawn "what to do"' in err
    assert not (committed_repo / WS).exists()


def test_any_one_existing_file_stops_it(committed_repo: Path, here: Here) -> None:
    script = committed_repo / WS / "execute-task.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho mine\n")
    code, _, err = here(committed_repo, "t")
    assert code == 2
    assert f"{script} exists: agents were already spawned here (--force" in err
    assert script.read_text() == "#!/bin/sh\necho mine\n"
    assert not (committed_repo / WS / "agents").exists()
    assert here(committed_repo, "t", "--force")[0] == 0
    assert "workflow run" in script.read_text()


def test_the_script_is_runnable_shell(committed_repo: Path, here: Here) -> None:
    assert here(committed_repo, "t")[0] == 0
    script = committed_repo / WS / "execute-task.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "@PYTHON@" not in text and sys.executable in text
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0
    # Run from elsewhere, it works in its own task folder: no workflow has run there yet.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep
           + os.environ["PATH"]}
    proc = subprocess.run([str(script), "--resume"], cwd="/", env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode != 0
    assert "not a git repository" not in proc.stderr


def test_command_and_python_providers(committed_repo: Path, here: Here) -> None:
    r = committed_repo
    code, _, err = here(r, "t", "--command", "my-agent --flag 'two words'")
    assert code == 0, err
    for s in specs(r).values():
        assert (s.provider.type, s.provider.command) == ("command", "my-agent --flag 'two words'")
    code, _, err = here(r, "t", "--provider", "python", "--module", "pkg.mod:run", "--force")
    assert code == 0, err
    for s in specs(r).values():
        assert (s.provider.type, s.provider.module) == ("python", "pkg.mod:run")
    code, _, err = here(r, "t", "--provider", "aider", "--force")
    assert code == 0, err
    assert {s.provider.type for s in specs(r).values()} == {"aider"}


@pytest.mark.parametrize(("args", "message"), [
    (["--provider", "command"], 'needs --command "PROGRAM ARGS"'),
    (["--provider", "python"], 'needs --module "package.module:function"'),
    (["--command", "agent 'unclosed"], "--command: cannot be split like a shell"),
    (["--provider", "claude"], "invalid choice: 'claude'"),
])
def test_bad_provider_options_write_nothing(committed_repo: Path, here: Here,
                                            args: list[str], message: str) -> None:
    code, _, err = here(committed_repo, "t", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (committed_repo / WS / "agents").exists()


def test_provider_value() -> None:
    assert spawn.provider_value("codex", None, None) == "codex"
    assert spawn.provider_value("command", "x --y", None) == {
        "type": "command", "command": "x --y"}
    assert spawn.provider_value("python", None, "a.b:c") == {"type": "python", "module": "a.b:c"}
    with pytest.raises(OssaError, match="--command goes with --provider command, not codex"):
        spawn.provider_value("codex", "x", None)
    with pytest.raises(OssaError, match=r"unknown provider 'gpt'.*claude-code.*python"):
        spawn.provider_value("gpt", None, None)


def test_command_with_another_provider_is_refused(committed_repo: Path, here: Here) -> None:
    code, _, err = here(committed_repo, "t", "--provider", "codex", "--command", "x")
    assert code == 2 and "--command goes with --provider command" in err


def test_a_module_without_colon_writes_nothing(committed_repo: Path, here: Here) -> None:
    code, _, _ = here(committed_repo, "t", "--provider", "python", "--module", "nocolon")
    assert code == 2
    assert not (committed_repo / WS / "agents" / "researcher.yaml").exists()


def test_exclude_lines_are_added_once(committed_repo: Path, here: Here) -> None:
    exclude = committed_repo / ".git" / "info" / "exclude"
    exclude.write_text("*.log")  # the user's line, no final newline
    for _ in range(3):
        assert here(committed_repo, "t", "--force")[0] == 0
    lines = exclude.read_text().splitlines()
    assert lines[0] == "*.log"
    assert lines[1:] == ["# ossa-hooks spawn: per-task agent specs and workflow",
                         *spawn.EXCLUDED]
    # A line the user already has is not written twice.
    exclude.write_text(f"{spawn.EXCLUDED[0]}\n")
    assert here(committed_repo, "t", "--force")[0] == 0
    assert exclude.read_text().splitlines().count(spawn.EXCLUDED[0]) == 1
    assert exclude.read_text().count(spawn.EXCLUDED[1]) == 1


def test_exclude_file_is_created_when_missing(committed_repo: Path, here: Here) -> None:
    info = committed_repo / ".git" / "info"
    (info / "exclude").unlink(missing_ok=True)
    info.rmdir()
    assert here(committed_repo, "t")[0] == 0
    assert (info / "exclude").read_text().splitlines()[1:] == list(spawn.EXCLUDED)
    assert git(committed_repo, "status", "--porcelain", "--untracked-files=all").stdout == ""


def test_in_a_repository_without_commits(repo: Path) -> None:
    proc = ossa(repo, "spawn", "--here", "first task")
    assert proc.returncode == 0, proc.stderr
    assert budget_report(repo)["task"]["name"] == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all").stdout == ""
