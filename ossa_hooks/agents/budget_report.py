"""The budget report in text, Markdown, JSON and HTML: used / budget per task and agent,
with the cost the agents reported, and escalations marked."""

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


def format_text(tasks: Sequence[TaskUsage], encoding_name: str = "cl100k_base") -> str:
    if not tasks:
        return "no agent calls recorded yet"
    lines = []
    for t in tasks:
        lines.append(f"task {t.name} ({t.branch}): {t.used:,} / {t.budget:,} tokens "
                     f"({_pct(t.used, t.budget)}), {t.calls} call(s)")
        for a in t.agents:
            budget = f"{a.budget:,}" if a.budget is not None else "-"
            lines.append(f"  {a.name:<12} {a.used:>7,} / {budget:>7}  {_pct(a.used, a.budget):>5}  "
                         f"{_bar(a.used, a.budget)}  {a.calls} call(s)")
    sources = sorted({s for t in tasks for a in t.agents for s in a.sources})
    if sources:
        lines.append(f"counted by: {', '.join(sources)}")
    return "\n".join(lines)


def format_md(tasks: Sequence[TaskUsage]) -> str:
    if not tasks:
        return "_No agent calls recorded yet._"
    out = ["| task | agent | used | budget | % | calls | counted by |",
           "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for t in tasks:
        out.append(f"| **{t.name}** (`{t.branch}`) | *all* | {t.used:,} | {t.budget:,} | "
                   f"{_pct(t.used, t.budget)} | {t.calls} | |")
        for a in t.agents:
            budget = f"{a.budget:,}" if a.budget is not None else "-"
            out.append(f"| | {a.name} | {a.used:,} | {budget} | {_pct(a.used, a.budget)} | "
                       f"{a.calls} | {', '.join(a.sources)} |")
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


def format_html(tasks: Sequence[TaskUsage], title: str = "ossa-hooks token budgets") -> str:
    """A self-contained page: a table and an inline SVG bar chart per task (no network)."""
    import html

    esc = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        ".over{color:#b00020;font-weight:bold}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if not tasks:
        parts.append("<p>No agent calls recorded yet.</p>")
    for t in tasks:
        parts.append(f"<h2>{esc(t.name)} <small><code>{esc(t.branch)}</code></small></h2>")
        rows = [("task", t.used, t.budget)] + [(a.name, a.used, a.budget) for a in t.agents]
        parts.append(_svg_bars(rows))
        parts.append("<table><tr><th>agent</th><th>used</th><th>budget</th><th>%</th>"
                     "<th>calls</th><th>counted by</th></tr>")
        for a in t.agents:
            cls = ' class="over"' if a.budget is not None and a.used > a.budget else ""
            budget = f"{a.budget:,}" if a.budget is not None else "-"
            parts.append(f"<tr{cls}><td>{esc(a.name)}</td><td>{a.used:,}</td><td>{budget}</td>"
                         f"<td>{_pct(a.used, a.budget)}</td><td>{a.calls}</td>"
                         f"<td>{esc(', '.join(a.sources))}</td></tr>")
        cls = ' class="over"' if t.budget and t.used > t.budget else ""
        parts.append(f"<tr{cls}><th>task</th><th>{t.used:,}</th><th>{t.budget:,}</th>"
                     f"<th>{_pct(t.used, t.budget)}</th><th>{t.calls}</th><th></th></tr></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _svg_bars(rows: Sequence[tuple[str, int, int | None]]) -> str:
    """Horizontal bars: used (filled) over budget (outline); red past the budget."""
    import html

    label_w, bar_w, row_h = 110, 420, 26
    height = row_h * len(rows) + 10
    scale = max([max(used, budget or 0) for _, used, budget in rows] + [1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 150}" '
           f'height="{height}" role="img" aria-label="tokens used per agent">']
    for i, (name, used, budget) in enumerate(rows):
        y = 5 + i * row_h
        over = budget is not None and used > budget
        colour = "#b00020" if over else "#2e7d32"
        out.append(f'<text x="0" y="{y + 16}" font-size="13">{html.escape(name)}</text>')
        if budget:
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * budget / scale:.1f}" '
                       f'height="16" fill="#eee" stroke="#999"/>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * used / scale:.1f}" '
                   f'height="16" fill="{colour}"><title>{used:,} tokens</title></rect>')
        budget_txt = f" / {budget:,}" if budget else ""
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}" font-size="12">'
                   f"{used:,}{budget_txt}</text>")
    out.append("</svg>")
    return "\n".join(out)


def render(tasks: Sequence[TaskUsage], fmt: str, *, single: bool) -> str:
    if fmt == "json":
        return format_json(tasks, single)
    if fmt == "md":
        return format_md(tasks)
    if fmt == "html":
        return format_html(tasks)
    return format_text(tasks)
