"""OSSA manifests: the specification's own examples (tests/data/ossa/, see NOTICE) read as
agent specs and as a workflow, the fields that do not map named, and `agents export` writing
a manifest that reads back the same."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml
from conftest import ossa

from ossa_hooks.agents import manifest
from ossa_hooks.agents import providers
from ossa_hooks.agents import specs
from ossa_hooks.agents import workflow

DATA = Path(__file__).resolve().with_name("data") / "ossa"
STANDINS = Path(__file__).resolve().with_name("standins")


def test_the_specs_claude_code_reviewer_example() -> None:
    spec = specs.load_spec(DATA / "code-reviewer.ossa.yaml")
    assert (spec.name, spec.type, spec.provider.type, spec.provider.model) == (
        "claude-code-reviewer", "reviewer", "claude-code", "claude-3-5-sonnet-20241022")
    assert spec.capabilities == ("review_code", "suggest_improvements")
    # extensions.claude_code.capabilities name Claude Code's own tools.
    assert spec.provider.allowed_tools == ("Glob", "Grep", "Read")
    assert spec.prompt is not None and spec.prompt.startswith("You are a senior code reviewer")
    assert "{diff}" in spec.prompt
    assert spec.ignored == (
        "spec.constraints.max_file_size", "spec.constraints.allowed_extensions",
        "spec.llm.temperature", "spec.llm.max_tokens", "extensions.claude_code.enabled",
        "extensions.claude_code.review_focus", "extensions.anthropic")
    argv, _ = providers.argv_for(spec, "p")
    assert argv[:8] == ["claude", "-p", "--output-format", "json", "--permission-mode",
                        "dontAsk", "--allowedTools", "Glob,Grep,Read"]


def test_constraints_map_to_budget_cap_and_timeout() -> None:
    spec = specs.load_spec(DATA / "agents" / "security-scanner.ossa.yaml")
    assert (spec.type, spec.budget, spec.provider.max_cost_usd, spec.provider.timeout) == (
        "researcher", 250000, 2.5, 600.0)
    assert spec.provider.allowed_tools == ("Grep", "Read")
    assert "spec.tools[run_semgrep]" in spec.ignored
    assert "spec.constraints.cost.currency" not in spec.ignored  # caps are in USD
    assert "spec.constraints.performance.maxLatencySeconds" in spec.ignored
    assert "--max-budget-usd" in providers.argv_for(spec, "p")[0]


def test_agents_spawn_takes_a_manifest_and_says_what_it_ignores(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "agents", "spawn", "coder", "--config",
                str(DATA / "v0.5-minimal.ossa.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "simple-helper-1\n"
    assert "OSSA fields not used here: security, protocols, metadata.identity" in proc.stderr
    listing = json.loads(ossa(committed_repo, "agents", "list", "--format", "json").stdout)
    assert (listing[0]["name"], listing[0]["type"]) == ("simple-helper", "coder")
    # Without a type on the command line or in the manifest, it says where to put one.
    bad = committed_repo / "bad.yaml"
    bad.write_text("apiVersion: ossa/v0.5\nkind: Agent\nmetadata: {name: helper}\n"
                   "spec: {role: hi}\n")
    err = ossa(committed_repo, "workflow", "orchestrate", "--config", str(bad), "--here")
    assert err.returncode == 2 and "kind 'Agent' where an OSSA Workflow manifest" in err.stderr
    other = committed_repo / "v9.yaml"
    other.write_text("apiVersion: ossa/v9\nkind: Agent\nmetadata: {name: x}\n")
    err = ossa(committed_repo, "agents", "spawn", "coder", "--config", str(other))
    assert err.returncode == 2 and "apiVersion 'ossa/v9' is not an OSSA version" in err.stderr


def test_export_reads_back_the_same(committed_repo: Path) -> None:
    r = committed_repo
    (r / "coder.yaml").write_text(
        "name: coder\ntype: coder\nrole: Implements the plan.\ncapabilities: [edit, test]\n"
        "budget: 4000\nprovider: {type: claude-code, model: sonnet, max_turns: 20, "
        "max_cost_usd: 1.5, timeout: 900, args: [--verbose]}\nprompt: 'Do {task}'\n")
    proc = ossa(r, "agents", "export", "coder.yaml", "-o", "coder.ossa.yaml")
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load((r / "coder.ossa.yaml").read_text())
    assert (doc["apiVersion"], doc["kind"], doc["metadata"]["name"]) == (
        "ossa/v0.5", "Agent", "coder")
    assert doc["spec"]["llm"] == {"provider": "anthropic", "model": "sonnet"}
    assert doc["spec"]["constraints"] == {
        "cost": {"maxTokensPerDay": 4000, "maxCostPerDay": 1.5, "currency": "USD"},
        "performance": {"timeoutSeconds": 900.0}}
    back = specs.load_spec(r / "coder.ossa.yaml")
    before = specs.load_spec(r / "coder.yaml")
    assert (back.name, back.type, back.budget, back.prompt, back.provider) == (
        before.name, before.type, before.budget, before.prompt, before.provider)
    assert back.ignored == ()
    shown = ossa(r, "agents", "export", "coder.yaml")
    assert shown.stdout.startswith("# OSSA Agent manifest exported by ossa-hooks")


def test_orchestrate_the_specs_workflow_example(committed_repo: Path, tmp_path: Path) -> None:
    from test_agents_workflow import CONFIG
    from test_agents_workflow import make_base
    from test_agents_workflow import task_worktree

    base = make_base(committed_repo, CONFIG.replace(
        "budget:\n", "budget:\n  task: 900000\n  agents: {researcher: 300000, reviewer: 300000}\n"))
    wt = task_worktree(base, "ossa", spawn=False)
    folder = tmp_path / "ossa"
    shutil.copytree(DATA, folder)
    definition = workflow.load_definition(folder / "05-workflow-composition.ossa.yaml")
    assert definition.phases == (("1_plan", "security-scanner"),
                                 ("3_review", "claude-code-reviewer"), ("4_judge", None),
                                 ("5_learn", None), ("6_govern", None))
    assert "spec.steps[validate] (kind Task)" in definition.ignored
    assert "spec.triggers" in definition.ignored
    env = dict(os.environ)
    env["PATH"] = f"{STANDINS}{os.pathsep}{env['PATH']}"
    proc = ossa(wt, "workflow", "orchestrate", "--config",
                str(folder / "05-workflow-composition.ossa.yaml"), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ignored: spec.steps[aggregate] (kind Task)" in proc.stderr
    doc = json.loads(ossa(wt, "workflow", "status", "--format", "json").stdout)[-1]
    assert [(p["name"], p["agent"], p["status"]) for p in doc["phases"]] == [
        ("1_plan", "security-scanner", "passed"), ("3_review", "claude-code-reviewer", "passed"),
        ("4_judge", None, "passed"), ("5_learn", None, "passed"), ("6_govern", None, "passed")]
    assert doc["description"] == "Automated code review pipeline with security scanning"
    assert manifest.is_manifest((folder / "v0.5-minimal.ossa.yaml").read_text())


def test_spawn_takes_agent_manifests_for_their_roles(committed_repo: Path) -> None:
    from test_agents_workflow import CONFIG
    from test_agents_workflow import make_base
    from test_agents_workflow import task_worktree

    base = make_base(committed_repo, CONFIG.replace(
        "budget:\n", "budget:\n  task: 900000\n  agents: {researcher: 300000, coder: 300000, "
        "reviewer: 300000}\n"))
    wt = task_worktree(base, "mixed", spawn=False)
    env = dict(os.environ)
    env["PATH"] = f"{STANDINS}{os.pathsep}{env['PATH']}"
    made = ossa(wt, "spawn", "Add a greet() function", "--provider", "claude-code",
                "--manifest", str(DATA / "code-reviewer.ossa.yaml"), env=env)
    assert made.returncode == 0, made.stderr
    assert "ignored: extensions.anthropic" in made.stderr
    ws = wt / ".agents-workspace"
    assert (ws / "agents" / "reviewer.yaml").read_text() == (
        DATA / "code-reviewer.ossa.yaml").read_text()
    loop = yaml.safe_load((ws / "workflows" / "360-loop.yaml").read_text())
    assert [p.get("agent") for p in loop["phases"][:3]] == [
        "researcher", "coder", "claude-code-reviewer"]
    run = ossa(wt, "workflow", "run", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(ossa(wt, "workflow", "status", "--format", "json").stdout)[-1]
    assert [p["agent"] for p in doc["phases"][:3]] == [
        "researcher", "coder", "claude-code-reviewer"]
    flow = ossa(wt, "spawn", "x", "--force", "--manifest",
                str(DATA / "05-workflow-composition.ossa.yaml"))
    assert flow.returncode == 2 and "workflow orchestrate --config" in flow.stderr
