"""What people read about a workflow: the compliance report (Markdown and JSON, kept in the git
common dir with the task's logs and copied into the worktree's ``metrics/``), ``workflow
status`` and ``workflow logs`` (the durable record, in time order)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.agents import budget as budget
from ossa_hooks.agents import budget_report as budget_report
from ossa_hooks.agents import record as record
from ossa_hooks.agents.specs import workspace
from ossa_hooks.agents.workflow import Workflow
from ossa_hooks.agents.workflow import get
from ossa_hooks.agents.workflow import phases_of
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths


def compliance_path(repo: RepoPaths, branch: str, workflow: int) -> Path:
    return record.task_dir(repo, branch) / f"compliance-{workflow}.md"


def write_compliance(repo: RepoPaths, worktree: Path, workflow: int, task: budget.TaskRef,
                     final: str, criteria: list[tuple[str, bool, str]], tu: budget.TaskUsage,
                     reason: str = "") -> Path:
    """``compliance-ID.md`` and ``.json``: phases, criteria, budgets, escalations. The copy in
    the git common dir outlives the worktree; the one in ``metrics/`` is for the agents."""
    wf = get(repo, workflow)
    phases = phases_of(repo, workflow)
    try:
        head = git.out(["rev-parse", "HEAD"], worktree)
    except OssaError:
        head = ""
    doc = {
        "workflow": workflow, "task": task.name, "description": wf.description,
        "branch": task.branch, "base_commit": wf.base_commit, "head": head, "status": final,
        "reason": reason, "phases": [p.as_json() for p in phases],
        "criteria": [{"name": n, "passed": ok, "detail": why} for n, ok, why in criteria],
        "budget": tu.as_json(), "generated": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    lines = [
        f"# Compliance report: workflow {workflow}",
        "",
        f"- task: {task.name}: {wf.description}",
        f"- branch: `{task.branch}` ({wf.base_commit[:10]}..{head[:10]})",
        f"- status: **{final}**" + (f" ({reason})" if reason else ""),
        f"- generated: {doc['generated']}",
        "",
        "## Phases",
        "",
        "| phase | round | status | agent | tokens | cost | note |",
        "| --- | ---: | --- | --- | ---: | ---: | --- |",
    ]
    for p in phases:
        note = p.note.replace("|", "\\|")
        cost = f"${p.cost_usd:.4f}" if p.cost_usd is not None else ""
        lines.append(f"| {p.name} | {p.round} | {p.status} | {p.agent or ''} | {p.tokens:,} | "
                     f"{cost} | {note} |")
    lines += ["", "## Success criteria", ""]
    lines += [f"- [{'x' if ok else ' '}] {n}: {why}" for n, ok, why in criteria]
    lines += ["", "## Token budget (this workflow's calls)", "", budget_report.format_md([tu]), ""]
    if tu.escalations:
        lines += ["## Escalations", ""]
        lines += [f"- **ESCALATED** {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t))}: "
                  f"{why}" for t, why in tu.escalations]
        lines.append("")
    text = "\n".join(lines)
    body = json.dumps(doc, indent=2) + "\n"
    durable = compliance_path(repo, task.branch, workflow)
    durable.parent.mkdir(parents=True, exist_ok=True)
    durable.write_text(text, encoding="utf-8")
    durable.with_suffix(".json").write_text(body, encoding="utf-8")
    local = workspace(worktree) / "metrics"
    try:
        local.mkdir(parents=True, exist_ok=True)
        (local / durable.name).write_text(text, encoding="utf-8")
        (local / f"compliance-{workflow}.json").write_text(body, encoding="utf-8")
    except OSError:
        pass  # the worktree is gone or read-only: the durable copy is the record
    record.add(repo, branch=task.branch, task=task.name, kind="compliance", workflow=workflow,
               text=f"{final}" + (f": {reason}" if reason else ""),
               detail={"report": str(durable)})
    return durable


# --- status ------------------------------------------------------------------------------------


def status_json(repo: RepoPaths, wf: Workflow, show_budget: bool) -> dict[str, Any]:
    doc = wf.as_json()
    doc["phases"] = [p.as_json() for p in phases_of(repo, wf.id)]
    if show_budget:
        tu = budget.usage(repo, [wf.branch], workflow=wf.id)
        doc["budget"] = tu[0].as_json() if tu else None
    return doc


def format_status(repo: RepoPaths, wf: Workflow, show_budget: bool) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wf.started))
    lines = [f"workflow {wf.id}: {wf.shown_status}  {wf.description}",
             f"  task {wf.task} on {wf.branch}, started {when}, worktree {wf.worktree}"]
    if wf.reason:
        lines.append(f"  reason: {wf.reason}")
    for p in phases_of(repo, wf.id):
        secs = f"{(p.ended or time.time()) - p.started:6.1f} s"
        tok = f"{p.tokens:>6,} tok" if p.tokens else " " * 10
        cost = f" ${p.cost_usd:.4f}" if p.cost_usd is not None else ""
        lines.append(f"  {p.name:<10} r{p.round}  {p.status:<11} {tok}{cost}  {secs}  {p.note}")
    if wf.shown_status in ("crashed", "interrupted", "failed", "escalated", "paused"):
        lines.append("  continue with: ossa-hooks workflow run --resume (in that worktree)")
    if show_budget:
        tasks = budget.usage(repo, [wf.branch], workflow=wf.id)
        lines.append(f"  budget of workflow {wf.id} (its own calls):")
        lines.append(budget_report.format_text(tasks) if tasks and tasks[0].calls
                     else "  no agent calls recorded")
    return "\n".join(lines)


# --- logs --------------------------------------------------------------------------------------


def follow_logs(repo: RepoPaths, wf: Workflow, follow: bool, out: Any = sys.stdout,
                poll: float = 0.2) -> int:
    """Print the workflow's record (prompts, answers, verdicts, judge results, reports) in
    time order; with ``follow``, keep printing until the workflow stops running. Returns the
    number of events printed."""
    last = 0
    shown = 0
    while True:
        for e in record.events(repo, workflow=wf.id, after=last):
            print(record.format_event(e), file=out, flush=True)
            last = e.id
            shown += 1
        if not follow or get(repo, wf.id).shown_status != "running":
            if not shown:
                print(f"workflow {wf.id}: nothing on record (no agent call or verdict was "
                      "recorded for it)", file=out)
            return shown
        time.sleep(poll)
