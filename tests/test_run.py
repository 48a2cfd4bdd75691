"""``ossa-hooks run``: dispatch by hook type or action id, SKIP, the audit event."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import ossa


def last_event(repo: Path) -> dict[str, object]:
    proc = ossa(repo, "audit", "--format", "json", "-n", "1")
    return dict(json.loads(proc.stdout)[0])


def test_a_hook_type_runs_its_configured_actions(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("hooks:\n  post-merge: []\n")
    proc = ossa(committed_repo, "run", "post-merge", "0")
    assert proc.returncode == 0, proc.stderr
    event = last_event(committed_repo)
    assert event["name"] == "post-merge"
    assert event["outcome"] == "ok"
    assert event["detail"] == {"hook_type": "post-merge", "actions": {}, "args": ["0"]}


def test_skip_names_actions_like_pre_commit(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("hooks:\n  post-merge: [ossa-budget]\n")
    env = dict(os.environ, SKIP="ossa-budget,other")
    assert ossa(committed_repo, "run", "post-merge", "0", env=env).returncode == 0
    assert last_event(committed_repo)["detail"]["actions"] == {  # type: ignore[index]
        "ossa-budget": "skipped"
    }


def test_an_action_id_under_the_pre_commit_framework(committed_repo: Path) -> None:
    env = dict(os.environ, PRE_COMMIT="1", PRE_COMMIT_CHECKOUT_TYPE="1",
               PRE_COMMIT_FROM_REF="a" * 40, PRE_COMMIT_TO_REF="b" * 40, SKIP="ossa-backup")
    assert ossa(committed_repo, "run", "ossa-backup", env=env).returncode == 0
    detail = last_event(committed_repo)["detail"]
    assert detail["hook_type"] == "post-checkout"  # type: ignore[index]
    assert detail["args"] == ["a" * 40, "b" * 40, "1"]  # type: ignore[index]
    assert detail["via"] == "pre-commit"  # type: ignore[index]


def test_pre_rebase_without_a_branch_under_pre_commit(committed_repo: Path) -> None:
    env = dict(os.environ, PRE_COMMIT="1", SKIP="ossa-backup")
    assert ossa(committed_repo, "run", "ossa-backup", env=env).returncode == 0
    assert last_event(committed_repo)["detail"]["hook_type"] == "pre-rebase"  # type: ignore[index]


def test_pre_push_reads_refs_from_stdin(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("hooks:\n  pre-push: []\n")
    line = f"refs/heads/main {'1' * 40} refs/heads/main {'0' * 40}\n"
    proc = ossa(committed_repo, "run", "pre-push", "origin", "url", input=line)
    assert proc.returncode == 0, proc.stderr
    assert last_event(committed_repo)["detail"]["refs"] == ["refs/heads/main"]  # type: ignore[index]


def test_unknown_hook_is_a_usage_error(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "run", "commit-msg")
    assert proc.returncode == 2
    assert "unknown hook type or action 'commit-msg'" in proc.stderr


def test_bad_config_is_recorded_and_exits_2(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("hooks:\n  pre-comit: []\n")
    proc = ossa(committed_repo, "run", "pre-commit")
    assert proc.returncode == 2
    assert "(did you mean 'pre-commit'?)" in proc.stderr
    event = last_event(committed_repo)
    assert event["outcome"] == "error"
    assert "pre-comit" in str(event["detail"])
