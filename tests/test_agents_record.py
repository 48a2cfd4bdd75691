"""The durable record: events in time order, by workflow or task, formatted for people; log
folders by task in the git common dir."""

from __future__ import annotations

from pathlib import Path

from ossa_hooks.agents import record
from ossa_hooks.git import repo_paths


def test_events_in_order_by_workflow_and_task(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    assert record.events(repo, workflow=1) == []
    a = record.add(repo, branch="agents/coder/x", task="x", kind="prompt", text="Task: x",
                   workflow=1, agent="coder", phase="2_execute", detail={"tokens": 12})
    b = record.add(repo, branch="agents/coder/y", task="y", kind="prompt", text="other",
                   workflow=2)
    c = record.add(repo, branch="agents/coder/x", task="x", kind="answer", text="done\nok",
                   workflow=1, agent="coder", phase="2_execute",
                   detail={"prompt_tokens": 12, "output_tokens": 3, "cost_usd": 0.01,
                           "source": "provider:codex", "exit_code": 0})
    assert a < b < c
    assert [e.id for e in record.events(repo, workflow=1)] == [a, c]
    assert [e.id for e in record.events(repo, branch="agents/coder/y")] == [b]
    assert [e.id for e in record.events(repo, workflow=1, after=a)] == [c]
    text = record.format_event(record.events(repo, workflow=1)[1])
    head, *body = text.splitlines()
    assert head.endswith("] 2_execute coder answer (prompt tokens 12, output tokens 3, "
                         "cost usd 0.01, source provider:codex, exit code 0)")
    assert body == ["    done", "    ok"]


def test_log_folders_by_task_in_the_common_dir(committed_repo: Path) -> None:
    repo = repo_paths(committed_repo)
    path = record.log_path(repo, "agents/coder/greet", "coder")
    assert path == repo.common_dir / "ossa-hooks" / "logs" / "agents__coder__greet" / (
        "agent-coder.log")
    # A branch name never leads out of the logs folder.
    odd = record.task_dir(repo, "../../etc")
    assert odd.parent == repo.state_dir / "logs" and odd.name not in ("", ".", "..")
