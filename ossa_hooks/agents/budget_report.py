"""The budget report in text, Markdown and JSON: used / budget per task and agent, with the
cost the agents reported, and escalations marked (the HTML page is agents/report_html.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ossa_hooks.agents.budget import TaskUsage


def _pct(used: int, budget: int | None) -> str:
    return f"{100 * used / budget:.0f}%" if budget else "-"


def _bar(used: int, budget: int | None, width: int = 20) -> str:
    if not budget:
        return ""
    filled = min(width, round(width * used / budget))
    return "#" * filled + "." * (width - filled) + (" OVER" if used > budget else "")


def _cost(c: float | None) -> str:
    return f"${c:.4f}" if c is not None else ""


def _when(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def format_text(tasks: Sequence[TaskUsage], encoding_name: str = "cl100k_base") -> str:
    if not tasks:
        return "no agent calls recorded yet"
    lines = []
    for t in tasks:
        cost = f", {_cost(t.cost_usd)} reported" if t.cost_usd is not None else ""
        over = "  OVER BUDGET" if t.budget and t.used > t.budget else ""
        lines.append(f"task {t.name} ({t.branch}): {t.used:,} / {t.budget:,} tokens "
                     f"({_pct(t.used, t.budget)}), {t.calls} call(s){cost}{over}")
        for a in t.agents:
            budget = f"{a.budget:,}" if a.budget is not None else "-"
            cost = f"  {_cost(a.cost_usd)}" if a.cost_usd is not None else ""
            lines.append(f"  {a.name:<12} {a.used:>7,} / {budget:>7}  {_pct(a.used, a.budget):>5}  "
                         f"{_bar(a.used, a.budget)}  {a.calls} call(s){cost}")
        lines += [f"  ESCALATED {_when(when)}: {why}" for when, why in t.escalations]
    sources = sorted({s for t in tasks for a in t.agents for s in a.sources})
    if sources:
        lines.append(f"counted by: {', '.join(sources)}")
    return "\n".join(lines)


def format_md(tasks: Sequence[TaskUsage]) -> str:
    if not tasks:
        return "_No agent calls recorded yet._"
    out = ["| task | agent | used | budget | % | calls | cost | counted by |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for t in tasks:
        over = " **OVER BUDGET**" if t.budget and t.used > t.budget else ""
        out.append(f"| **{t.name}** (`{t.branch}`){over} | *all* | {t.used:,} | {t.budget:,} | "
                   f"{_pct(t.used, t.budget)} | {t.calls} | {_cost(t.cost_usd)} | |")
        for a in t.agents:
            budget = f"{a.budget:,}" if a.budget is not None else "-"
            name = f"**{a.name} OVER**" if a.budget is not None and a.used > a.budget else a.name
            out.append(f"| | {name} | {a.used:,} | {budget} | {_pct(a.used, a.budget)} | "
                       f"{a.calls} | {_cost(a.cost_usd)} | {', '.join(a.sources)} |")
    esc = [(t.name, when, why) for t in tasks for when, why in t.escalations]
    if esc:
        out += ["", *[f"- **ESCALATED** ({name}, {_when(when)}): {why}" for name, when, why in esc]]
    return "\n".join(out)


def format_json(tasks: Sequence[TaskUsage], single: bool) -> str:
    if single and len(tasks) == 1:
        return json.dumps(tasks[0].as_json(), indent=2)
    agents: dict[str, dict[str, Any]] = {}
    for t in tasks:
        for a in t.agents:
            entry = agents.setdefault(a.name, {"used": 0, "budget": 0, "calls": 0})
            entry["used"] += a.used
            entry["budget"] += a.budget or 0
            entry["calls"] += a.calls
    doc = {
        "task": {"used": sum(t.used for t in tasks), "budget": sum(t.budget for t in tasks),
                 "calls": sum(t.calls for t in tasks)},
        "agents": agents,
        "tasks": [t.as_json() for t in tasks],
    }
    return json.dumps(doc, indent=2)


def render(tasks: Sequence[TaskUsage], fmt: str, *, single: bool) -> str:
    if fmt == "json":
        return format_json(tasks, single)
    if fmt == "md":
        return format_md(tasks)
    return format_text(tasks)
