"""The providers: the exact command lines built for Claude Code, Codex and aider by role, their
output read in every shape (usage, cost, denials, errors), and whole loops driven through
stand-ins of the three CLIs (tests/standins/) that reproduce their documented arguments and
output, including the ways they refuse to edit."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.agents import providers
from ossa_hooks.agents import specs

STANDINS = Path(__file__).resolve().with_name("standins")


def spec(provider: str, kind: str = "coder") -> specs.AgentSpec:
    return specs.parse_spec(f"name: a\ntype: {kind}\nprovider: {provider}\n", "a.yaml")


def test_claude_command_lines_by_role() -> None:
    argv, stdin = providers.argv_for(spec("claude-code"), "P")
    assert stdin == b"P"
    assert argv == [
        "claude", "-p", "--output-format", "json", "--permission-mode", "acceptEdits",
        "--allowedTools", "Read,Glob,Grep,LS,Edit,Write,MultiEdit,NotebookEdit,TodoWrite,Bash",
        "--disallowedTools", "Bash(git commit:*),Bash(git push:*),Bash(git reset:*),"
        "Bash(git checkout:*),WebFetch"]
    argv, _ = providers.argv_for(spec("claude-code", "reviewer"), "P")
    assert argv[4:] == [
        "--permission-mode", "dontAsk",
        "--allowedTools", "Read,Glob,Grep,LS,Bash(git diff:*),Bash(git log:*),"
        "Bash(git show:*),Bash(git status:*)",
        "--disallowedTools", "Edit,Write,MultiEdit,NotebookEdit,WebFetch"]
    capped = spec("{type: claude-code, model: opus, max_turns: 12, max_cost_usd: 0.5, "
                  "args: [--verbose], allowed_tools: [Read]}")
    argv, _ = providers.argv_for(capped, "P", providers.Caps(max_cost_usd=0.25))
    assert argv[6:] == ["--allowedTools", "Read", "--disallowedTools",
                        "Bash(git commit:*),Bash(git push:*),Bash(git reset:*),"
                        "Bash(git checkout:*),WebFetch",
                        "--model", "opus", "--max-turns", "12", "--max-budget-usd", "0.25",
                        "--verbose"]


def test_codex_and_aider_command_lines() -> None:
    assert providers.argv_for(spec("codex"), "P") == (
        ["codex", "exec", "--json", "--sandbox", "workspace-write", "-"], b"P")
    assert providers.argv_for(spec("{type: codex, model: o3, args: [--ephemeral]}",
                                   "researcher"), "P")[0] == [
        "codex", "exec", "--json", "--sandbox", "read-only", "--model", "o3", "--ephemeral", "-"]
    aider = ["aider", "--yes-always", "--no-auto-commits", "--no-dirty-commits",
             "--no-gitignore", "--no-check-update", "--no-pretty", "--no-stream",
             "--no-analytics"]
    assert providers.argv_for(spec("aider"), "do it") == ([*aider, "--message", "do it"], None)
    assert providers.argv_for(spec("{type: aider, model: sonnet}", "reviewer"), "x")[0] == [
        *aider, "--chat-mode", "ask", "--model", "sonnet", "--message", "x"]
    assert providers.argv_for(spec("{type: command, command: 'tool --in {prompt}'}"),
                              "x y") == (["tool", "--in", "x y"], None)
    assert providers.argv_for(spec("{type: command, command: tool, input: arg, args: [-v]}"),
                              "x") == (["tool", "-v", "x"], None)


RESULT = {
    "type": "result", "subtype": "success", "is_error": False, "num_turns": 4,
    "result": "done", "total_cost_usd": 0.4071,
    "usage": {"input_tokens": 12, "cache_creation_input_tokens": 9000,
              "cache_read_input_tokens": 52000, "output_tokens": 928},
    "modelUsage": {"claude-opus": {"inputTokens": 12, "outputTokens": 928,
                                   "cacheReadInputTokens": 52000,
                                   "cacheCreationInputTokens": 9000, "costUSD": 0.4},
                   "claude-haiku": {"inputTokens": 600, "outputTokens": 20, "costUSD": 0.007}},
    "permission_denials": [],
}


@pytest.mark.parametrize("shape", ["object", "array", "stream"])
def test_claude_result_in_every_shape(shape: str) -> None:
    init = {"type": "system", "subtype": "init", "tools": ["Read"]}
    said = {"type": "assistant", "message": {"content": [{"type": "text", "text": "done"}]}}
    out = {"object": json.dumps(RESULT),
           "array": json.dumps([init, said, RESULT]),
           "stream": "\n".join(json.dumps(m) for m in (init, said, RESULT)) + "\n"}[shape]
    rep = providers.parse_claude(out)
    # Every model's tokens: 12 + 52,000 + 9,000 + 600 read, 928 + 20 written (the issue's
    # array case was counted as 223 tiktoken tokens).
    assert (rep.text, rep.usage, rep.cost_usd, rep.turns, rep.error) == (
        "done", {"prompt": 61612, "output": 948}, 0.4071, 4, None)


def test_claude_denials_and_errors() -> None:
    denied = {**RESULT, "permission_denials": [
        {"tool_name": "Write", "tool_use_id": "t1", "tool_input": {"file_path": "/w/hello.py"}},
        {"tool_name": "Bash", "tool_use_id": "t2", "tool_input": {"command": "pytest -q"}}]}
    assert providers.parse_claude(json.dumps(denied)).denials == (
        "Write(/w/hello.py)", "Bash(pytest -q)")
    assert providers.parse_claude(
        '{"type":"result","is_error":true,"result":"Not logged in · Please run /login"}'
    ).error == "Not logged in · Please run /login"
    turns = providers.parse_claude(json.dumps({**RESULT, "subtype": "error_max_turns"}))
    assert turns.error == "stopped at its turn limit (--max-turns) before finishing"
    cut = providers.parse_claude(json.dumps({"type": "system", "subtype": "init"}) + "\n")
    assert cut.error is not None and "no result message" in cut.error


def test_codex_events() -> None:
    events = [
        {"type": "thread.started", "thread_id": "t"},
        {"type": "item.completed", "item": {"type": "command_execution", "command": "rm -rf x",
                                            "status": "declined"}},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "all good"}},
        {"type": "turn.completed", "usage": {"input_tokens": 50, "cached_input_tokens": 20,
                                             "output_tokens": 5}},
    ]
    rep = providers.parse_codex("\n".join(json.dumps(e) for e in events))
    assert (rep.text, rep.usage, rep.denials, rep.cost_usd) == (
        "all good", {"prompt": 50, "output": 5}, ("command(rm -rf x)",), None)
    failed = providers.parse_codex('{"type":"error","message":"Reconnecting... 1/5"}\n'
                                   '{"type":"turn.failed","error":{"message":"no network"}}')
    assert failed.error == "no network"


def test_aider_report() -> None:
    out = ("Changed hello.py\n"
           "Tokens: 2.4k sent, 1.1k cache write, 12k cache hit, 137 received.\n"
           "Cost: $0.0094 message, $0.0094 session.\n"
           "Tokens: 500 sent, 20 received. Cost: $0.01 message, $0.02 session.\n")
    rep = providers.parse_aider(out)
    # "sent" already counts cache writes; cache hits were read too.
    assert (rep.text, rep.usage, rep.cost_usd) == (
        "Changed hello.py", {"prompt": 14900, "output": 157}, 0.0194)
    err = providers.parse_aider("litellm.AuthenticationError: invalid x-api-key\n")
    assert err.error == "litellm.AuthenticationError: invalid x-api-key" and err.usage is None


def test_any_program_usage_line() -> None:
    rep = providers.parse_any('text\n{"usage": {"prompt_tokens": 3, "completion_tokens": 4},'
                              ' "cost_usd": 0.5}\n')
    assert (rep.text, rep.usage, rep.cost_usd) == ("text", {"prompt": 3, "output": 4}, 0.5)
    assert providers.parse_any("just text\n") == providers.Report("just text\n")


# --- whole loops through the stand-ins ---------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{STANDINS}{os.pathsep}{env['PATH']}"
    return env


def loop_with(base: Path, provider: str, *agent_args: str, mode: str = "",
              name: str = "greet") -> tuple[Path, subprocess.CompletedProcess[str]]:
    from test_agents_workflow import task_worktree

    wt = task_worktree(base, name, spawn=False)
    extra = [f"--agent-arg={a}" for a in agent_args]
    env = _env()
    made = ossa(wt, "spawn", "Add a greet() function", "--provider", provider, *extra, env=env)
    assert made.returncode == 0, made.stderr
    if mode:
        env["STANDIN_MODE"] = mode
    return wt, ossa(wt, "workflow", "run", env=env)


def argv_seen(wt: Path, cli: str, kind: str) -> list[list[str]]:
    return json.loads((wt / ".agents-workspace" / "data" / f"argv-{cli}-{kind}.json")
                      .read_text())


def status(wt: Path) -> dict:  # type: ignore[type-arg]
    proc = ossa(wt, "workflow", "status", "--format", "json", "--show-budget")
    docs = json.loads(proc.stdout)
    return docs[-1] if isinstance(docs, list) else docs


@pytest.fixture
def base(committed_repo: Path) -> Path:
    from test_agents_workflow import CONFIG

    r = committed_repo
    assert ossa(r, "install").returncode == 0
    (r / ".ossa-hooks.yaml").write_text(CONFIG.replace(
        "budget:\n", "budget:\n  task: 900000\n  agents: {researcher: 300000, coder: 300000, "
        "reviewer: 300000}\n"))
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "config")
    return r


def test_claude_code_loop_edits_commits_and_reports_cost(base: Path) -> None:
    wt, proc = loop_with(base, "claude-code")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "workflow 1: succeeded" in proc.stdout
    assert git(wt, "show", "--name-only", "--format=", "HEAD").stdout.split() == ["hello.py"]
    coder = argv_seen(wt, "claude", "coder")[0]
    assert coder[:6] == ["-p", "--output-format", "json", "--permission-mode", "acceptEdits",
                         "--allowedTools"]
    assert argv_seen(wt, "claude", "reviewer")[0][4] == "dontAsk"
    doc = status(wt)
    agents = doc["budget"]["agents"]
    # The stand-in reports (prompt words + 21,000 cache + 500 side model) and 340 output.
    assert agents["coder"]["sources"] == ["provider:claude-code"]
    assert agents["coder"]["output"] == 340 and agents["coder"]["prompt"] > 21500
    assert agents["coder"]["cost_usd"] == pytest.approx(0.0123)
    assert doc["budget"]["task"]["cost_usd"] == pytest.approx(0.0369)


def test_claude_coder_denied_fails_its_phase(base: Path) -> None:
    # The coder's permission mode set back to the CLI's default (the last flag wins): the
    # edit is denied, as with the real `claude -p` and no permission mode.
    wt, proc = loop_with(base, "claude-code", "--permission-mode", "default")
    assert proc.returncode == 1
    out = proc.stdout
    assert "workflow 1: failed: 2_execute: agent coder was denied 1 tool call(s): Write(" in out
    doc = status(wt)
    assert doc["status"] == "failed"
    assert [(p["name"], p["status"]) for p in doc["phases"]] == [
        ("1_plan", "passed"), ("2_execute", "failed")]
    assert git(wt, "log", "--format=%s", "-1").stdout.strip() == "config"
    report = json.loads((wt / ".agents-workspace" / "metrics" / "compliance-1.json").read_text())
    assert report["status"] == "failed"


def test_claude_not_logged_in_and_turn_limit(base: Path) -> None:
    wt, proc = loop_with(base, "claude-code", mode="not-logged-in")
    assert proc.returncode == 1
    assert "1_plan: agent researcher exited 1: Not logged in" in proc.stdout
    env = _env()
    env["STANDIN_MODE"] = "max-turns"
    again = ossa(wt, "workflow", "run", "--resume", env=env)
    assert again.returncode == 1
    assert "stopped at its turn limit (--max-turns)" in again.stdout


def test_codex_loop_and_its_read_only_sandbox(base: Path) -> None:
    wt, proc = loop_with(base, "codex")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert argv_seen(wt, "codex", "coder")[0] == ["exec", "--json", "--sandbox",
                                                  "workspace-write", "-"]
    assert argv_seen(wt, "codex", "reviewer")[0][3] == "read-only"
    assert status(wt)["budget"]["agents"]["coder"]["output"] == 250
    # The coder back in a read-only sandbox (the last --sandbox wins): its edit fails.
    _, proc2 = loop_with(base, "codex", "--sandbox", "read-only", name="ro")
    assert proc2.returncode == 1
    assert "agent coder was denied 1 tool call(s): file_change(hello.py)" in proc2.stdout
    _, proc3 = loop_with(base, "codex", mode="error", name="err")
    assert proc3.returncode == 1
    assert "stream disconnected before completion" in proc3.stdout


def test_aider_loop_commits_only_through_the_loop(base: Path) -> None:
    wt, proc = loop_with(base, "aider")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = git(wt, "log", "--format=%s", "main..HEAD").stdout.splitlines()
    assert log == ["greet: Add a greet() function"], log  # no "aider: greet" commit
    doc = status(wt)
    assert doc["budget"]["agents"]["coder"]["prompt"] == 14100
    assert doc["budget"]["agents"]["coder"]["cost_usd"] == pytest.approx(0.0094)
    _, proc2 = loop_with(base, "aider", mode="error", name="err")
    assert proc2.returncode == 1
    assert "reported an error: litellm.AuthenticationError" in proc2.stdout


def test_agent_args_land_in_the_specs(base: Path) -> None:
    from test_agents_workflow import task_worktree

    wt = task_worktree(base, "args", spawn=False)
    made = ossa(wt, "spawn", "x", "--provider", "codex", "--agent-arg=--ephemeral",
                "--agent-arg=-c", "--agent-arg", "model_reasoning_effort=low")
    assert made.returncode == 0, made.stderr
    coder = specs.load_spec(wt / ".agents-workspace" / "agents" / "coder.yaml")
    assert coder.provider.args == ("--ephemeral", "-c", "model_reasoning_effort=low")
    assert providers.argv_for(coder, "p")[0][-4:] == [
        "--ephemeral", "-c", "model_reasoning_effort=low", "-"]
