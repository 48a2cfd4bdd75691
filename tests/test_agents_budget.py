"""Token counting offline, the ledger, limits, reports and the post-merge report."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks import git as ogit
from ossa_hooks.agents import budget as budget
from ossa_hooks.config import Config
from ossa_hooks.config import defaults
from ossa_hooks.errors import OssaError

SAMPLES = [
    "hello world",
    "def f(x):\n    return x ** 2  # squares\n",
    "Ünïcödé — 日本語のテキスト, emojis 🎉🎉 and <|endoftext|> markers",
    "   leading spaces\n\n\ttabs\r\nCRLF 12345678901234567890",
]


def test_offline_encoding_matches_tiktokens_own_loader(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Our constructor gives the ids tiktoken's own cl100k_base gives (fed the same file through
    its cache, so no network is touched)."""
    import tiktoken
    import tiktoken.registry

    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    data = gzip.decompress((budget.encodings_dir() / "cl100k_base.tiktoken.gz").read_bytes())
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    reference = tiktoken.get_encoding("cl100k_base")
    ours = budget.encoding("cl100k_base")
    for text in SAMPLES:
        assert ours.encode(text, disallowed_special=()) == reference.encode(
            text, disallowed_special=())
    assert budget.count_tokens("hello world") == 2


def test_shipped_file_has_tiktokens_published_hash() -> None:
    data = gzip.decompress((budget.encodings_dir() / "cl100k_base.tiktoken.gz").read_bytes())
    assert hashlib.sha256(data).hexdigest() == (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7")


def test_a_tampered_encoding_file_is_refused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGVsbG8= 0\n"))
    from ossa_hooks.agents import tokens

    monkeypatch.setattr(tokens, "encodings_dir", lambda: tmp_path)
    with pytest.raises(OssaError, match="published hash"):
        budget.offline_ranks("cl100k_base")


def test_count_command_works_without_network(tmp_path: Path) -> None:
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp_path / "empty"),
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    proc = ossa(tmp_path, "budget", "count", input="hello world", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2 tokens (cl100k_base)"


def _task(repo: Path, branch: str = "agents/coder/t1") -> budget.TaskRef:
    return budget.TaskRef(branch.rsplit("/", 1)[-1], branch, str(repo))


def test_ledger_limits_and_json_contract(committed_repo: Path) -> None:
    repo = ogit.repo_paths(committed_repo)
    task = _task(committed_repo)
    budget.register_task(repo, task, 1000, {"researcher": 400, "coder": 400, "reviewer": 200})
    budget.record(repo, task, agent="researcher", agent_type="researcher", phase="1_plan",
                  usage=budget.Usage(100, 50, "tiktoken:cl100k_base"))
    budget.record(repo, task, agent="coder", agent_type="coder", phase="2_execute",
                  usage=budget.Usage(200, 100, "provider:claude-code"))
    budget.check_before(repo, task, "coder", 100)
    with pytest.raises(budget.BudgetExceeded, match="only 100 of its 400 are left"):
        budget.check_before(repo, task, "coder", 101)
    budget.check_after(repo, task, "coder")
    budget.record(repo, task, agent="coder", agent_type="coder", phase="2_execute",
                  usage=budget.Usage(50, 60, "provider:claude-code"))
    with pytest.raises(budget.BudgetExceeded, match="coder used 410 of its 400"):
        budget.check_after(repo, task, "coder")

    proc = ossa(committed_repo, "budget", "report", "--task", "t1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["task"]["used"] == 560 and doc["task"]["budget"] == 1000
    assert doc["agents"]["coder"] == {"used": 410, "budget": 400, "prompt": 250, "output": 160,
                                      "calls": 2, "sources": ["provider:claude-code"],
                                      "cost_usd": None}
    assert doc["agents"]["reviewer"]["used"] == 0

    text = ossa(committed_repo, "budget", "report", "--all").stdout
    assert "task t1 (agents/coder/t1): 560 / 1,000 tokens (56%), 3 call(s)" in text
    assert "coder" in text and "OVER" in text
    md = ossa(committed_repo, "budget", "report", "--all", "--format", "md").stdout
    assert "| | **coder OVER** | 410 | 400 | 102% | 2 |  | provider:claude-code |" in md


def test_task_budget_is_enforced_too(committed_repo: Path) -> None:
    repo = ogit.repo_paths(committed_repo)
    task = _task(committed_repo)
    budget.register_task(repo, task, 300, {"coder": 1000})
    budget.record(repo, task, agent="coder", agent_type="coder", phase="2_execute",
                  usage=budget.Usage(200, 50, "tiktoken:cl100k_base"))
    with pytest.raises(budget.BudgetExceeded, match="only 50 of task t1's 300 are left"):
        budget.check_before(repo, task, "coder", 60)


def test_html_report_is_self_contained(committed_repo: Path, tmp_path: Path) -> None:
    repo = ogit.repo_paths(committed_repo)
    task = _task(committed_repo)
    budget.register_task(repo, task, 1000, {"coder": 400})
    budget.record(repo, task, agent="coder", agent_type="coder", phase="2_execute",
                  usage=budget.Usage(500, 20, "tiktoken:cl100k_base"))
    out = tmp_path / "r.html"
    proc = ossa(committed_repo, "budget", "report", "--all", "--format", "html", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<rect" in page
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert 'class="over"' in page and "520" in page


def test_report_with_no_ledger(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "budget", "report")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "no agent calls recorded yet"
    proc = ossa(committed_repo, "budget", "report", "--task", "nope")
    assert proc.returncode == 2 and "no task 'nope'" in proc.stderr


def test_report_for_branches_and_post_merge(committed_repo: Path) -> None:
    r = committed_repo
    assert ossa(r, "install").returncode == 0
    repo = ogit.repo_paths(r)
    git(r, "checkout", "-q", "-b", "agents/coder/t1")
    (r / "a.txt").write_text("a\n")
    git(r, "add", "a.txt")
    git(r, "commit", "-q", "-m", "a")
    task = _task(r)
    budget.register_task(repo, task, 12000, {"coder": 4000})
    budget.record(repo, task, agent="coder", agent_type="coder", phase="2_execute",
                  usage=budget.Usage(1200, 300, "tiktoken:cl100k_base"))
    other = _task(r, "agents/coder/t2")
    budget.register_task(repo, other, 12000, {"coder": 4000})
    cfg = Config(defaults())
    assert "task t1" in budget.report_for_branches(repo, cfg, ["agents/coder/t1"])
    assert budget.report_for_branches(repo, cfg, ["main"]) == ""

    git(r, "checkout", "-q", "main")
    merge = git(r, "merge", "--no-ff", "-q", "-m", "merge t1", "agents/coder/t1")
    out = merge.stdout + merge.stderr
    assert "token budgets of the merged tasks" in out
    assert "task t1 (agents/coder/t1): 1,500 / 12,000 tokens" in out
    assert "t2" not in out
