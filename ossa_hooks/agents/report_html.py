"""The report people look at (``workflow report``, ``budget report --format html``): one
self-contained page (no script, no network) with, per task, its status and its workflows: a
timeline of the phases with their durations, tokens and cost per agent and per phase against
the budgets (the limit drawn over the bar, so an overrun shows it), escalations with their
reasons, and the review and judge verdicts linked to the stored logs and reports.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path

from ossa_hooks.agents import record as record
from ossa_hooks.agents.budget import TaskUsage
from ossa_hooks.agents.workflow import Phase
from ossa_hooks.agents.workflow import Workflow
from ossa_hooks.agents.workflow import phases_of
from ossa_hooks.git import RepoPaths

esc = html.escape

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{margin-bottom:0}.generated{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:.2em .5em}
td.num,th.num{text-align:right}
.status{display:inline-block;padding:.1em .6em;border-radius:.8em;font-weight:bold;color:#fff}
.status-succeeded,.status-passed{background:#2e7d32}.status-running,.status-paused{background:#1565c0}
.status-failed,.status-escalated,.status-crashed,.status-interrupted{background:#b00020}
.status-escalated{outline:3px solid #ff9800}
tr.over td{background:#fde7ea;font-weight:bold}tr.phase-failed td,tr.phase-escalated td{
background:#fde7ea}.escalations{border:3px solid #b00020;background:#fff3f3;padding:.6em 1.6em}
.escalations li{color:#b00020;font-weight:bold}
section.workflow{border-top:1px solid #ddd;margin-top:1em}
"""


def _secs(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _cost(c: float | None) -> str:
    return f"${c:.4f}" if c is not None else "–"


def _href(path: Path) -> str:
    return esc(path.as_uri())


def agent_bars(tu: TaskUsage) -> str:
    """Used (filled) against budget (outline) per agent and for the task; past the budget the
    bar is red and the limit is a dark line drawn on top of it, with its value."""
    rows = [("task", tu.used, tu.budget or None)] + [(a.name, a.used, a.budget)
                                                     for a in tu.agents]
    label_w, bar_w, row_h = 110, 460, 28
    scale = max([max(u, b or 0) for _, u, b in rows] + [1])
    out = [f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 280}"'
           f' height="{row_h * len(rows) + 10}" role="img" aria-label="tokens used per agent">']
    for i, (name, used, budget) in enumerate(rows):
        y = 5 + i * row_h
        over = budget is not None and used > budget
        out.append(f'<text x="0" y="{y + 17}" font-size="13">{esc(name)}</text>')
        if budget:
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * budget / scale:.1f}" '
                       'height="18" fill="#eee" stroke="#999"/>')
        out.append(f'<rect class="used{" over" if over else ""}" data-agent="{esc(name)}" '
                   f'data-task="{esc(tu.name)}" '
                   f'x="{label_w}" y="{y + 3}" width="{bar_w * used / scale:.1f}" height="18" '
                   f'fill="{"#b00020" if over else "#2e7d32"}"><title>{used:,} tokens'
                   f'</title></rect>')
        if budget:
            x = label_w + bar_w * budget / scale
            out.append(f'<line class="limit" data-agent="{esc(name)}" data-task="{esc(tu.name)}" '
                       f'x1="{x:.1f}" y1="{y}" '
                       f'x2="{x:.1f}" y2="{y + 24}" stroke="#000" stroke-width="3"/>')
        text = f"{used:,} / {budget:,}" if budget else f"{used:,}"
        label = f"OVER: {text} (limit {budget:,})" if over and budget else text
        bold = ' font-weight="bold" fill="#b00020" class="over-label"' if over else ""
        out.append(f'<text x="{label_w + bar_w + 8}" y="{y + 17}" font-size="12"{bold}>'
                   f"{esc(label)}</text>")
    out.append("</svg>")
    return "\n".join(out)


def timeline(wf: Workflow, phases: Sequence[Phase]) -> str:
    """One bar per phase run, placed by its start and length in the workflow's time."""
    if not phases:
        return "<p>No phase has run.</p>"
    start = min(p.started for p in phases)
    end = max((p.ended or time.time()) for p in phases)
    span = max(end - start, 0.001)
    label_w, bar_w, row_h = 150, 520, 22
    colours = {"passed": "#2e7d32", "failed": "#b00020", "escalated": "#ff9800",
               "interrupted": "#6a1b9a", "running": "#1565c0"}
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="'
           f'{label_w + bar_w + 120}" height="{row_h * len(phases) + 10}" role="img" '
           f'aria-label="timeline of workflow {wf.id}">']
    for i, p in enumerate(phases):
        y = 5 + i * row_h
        x = label_w + bar_w * (p.started - start) / span
        w = max(bar_w * ((p.ended or time.time()) - p.started) / span, 2)
        out.append(f'<text x="0" y="{y + 14}" font-size="12">{esc(p.name)} r{p.round}</text>')
        out.append(f'<rect class="phase phase-{esc(p.status)}" x="{x:.1f}" y="{y + 2}" '
                   f'width="{w:.1f}" height="16" fill="{colours.get(p.status, "#999")}">'
                   f"<title>{esc(p.status)}</title></rect>")
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 14}" font-size="12">'
                   f"{_secs((p.ended or time.time()) - p.started)}</text>")
    out.append("</svg>")
    return "\n".join(out)


def _workflow(repo: RepoPaths, wf: Workflow) -> str:
    phases = phases_of(repo, wf.id)
    logs = record.task_dir(repo, wf.branch)
    status = wf.shown_status
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wf.started))
    parts = [f'<section class="workflow" id="workflow-{wf.id}">',
             f'<h3>Workflow {wf.id} <span class="status status-{esc(status)}">'
             f"{esc(status.upper())}</span></h3>",
             f"<p>{esc(wf.description)} — started {when}"
             + (f"; <strong>{esc(wf.reason)}</strong>" if wf.reason else "") + "</p>",
             timeline(wf, phases),
             '<table class="phases"><tr><th>phase</th><th class="num">round</th>'
             '<th>status</th><th>agent</th><th class="num">duration</th><th class="num">tokens'
             '</th><th class="num">cost</th><th>note</th><th>record</th></tr>']
    for p in phases:
        secs = (p.ended or time.time()) - p.started
        link = ""
        if p.agent:
            link = f'<a class="log" href="{_href(logs / f"agent-{p.agent}.log")}">log</a>'
        if p.name == "6_govern" or p.name == "4_judge":
            report = logs / f"compliance-{wf.id}.md"
            link = f'<a class="report" href="{_href(report)}">compliance report</a>'
        verdict = ""
        if p.name == "3_review" and p.result.get("verdict"):
            verdict = f' <span class="verdict">{esc(str(p.result["verdict"]))}</span>'
        parts.append(
            f'<tr class="phase-{esc(p.status)}"><td>{esc(p.name)}</td><td class="num">'
            f'{p.round}</td><td><span class="status status-{esc(p.status)}">{esc(p.status)}'
            f'</span>{verdict}</td><td>{esc(p.agent or "")}</td><td class="num">{_secs(secs)}'
            f'</td><td class="num">{p.tokens:,}</td><td class="num">{_cost(p.cost_usd)}</td>'
            f"<td>{esc(p.note)}</td><td>{link}</td></tr>")
    parts.append("</table></section>")
    return "\n".join(parts)


def page(repo: RepoPaths, tasks: Sequence[TaskUsage], workflows: Sequence[Workflow],
         title: str = "ossa-hooks: agents, workflows and budgets") -> str:
    generated = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>", f'<p class="generated">generated {generated}</p>']
    if not tasks and not workflows:
        parts.append("<p>No agent calls or workflows recorded yet.</p>")
    for t in tasks:
        mine = [w for w in workflows if w.branch == t.branch]
        status = mine[-1].shown_status if mine else ("escalated" if t.escalations else "no "
                                                                                       "workflow")
        over = bool(t.budget and t.used > t.budget) or any(
            a.budget is not None and a.used > a.budget for a in t.agents)
        parts.append(f'<section class="task" id="task-{esc(t.name)}"><h2>Task {esc(t.name)} '
                     f'<small><code>{esc(t.branch)}</code></small> <span class="status '
                     f'status-{esc(status.replace(" ", "-"))}">{esc(status.upper())}</span>'
                     + (' <span class="status status-failed over-budget">OVER BUDGET</span>'
                        if over else "") + "</h2>")
        parts.append(f"<p>{t.used:,} of {t.budget:,} tokens in {t.calls} call(s); cost "
                     f"{_cost(t.cost_usd)} (as the agent programs reported it)</p>")
        if t.escalations:
            parts.append('<ul class="escalations">' + "".join(
                f"<li>ESCALATED {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(when))}: "
                f"{esc(why)}</li>" for when, why in t.escalations) + "</ul>")
        parts.append(agent_bars(t))
        parts.append('<table class="agents"><tr><th>agent</th><th class="num">used</th>'
                     '<th class="num">budget</th><th class="num">calls</th><th class="num">'
                     "cost</th><th>counted by</th></tr>")
        for a in t.agents:
            cls = ' class="over"' if a.budget is not None and a.used > a.budget else ""
            budget = f"{a.budget:,}" if a.budget is not None else "–"
            parts.append(f"<tr{cls}><td>{esc(a.name)}</td><td class=\"num\">{a.used:,}</td>"
                         f'<td class="num">{budget}</td><td class="num">{a.calls}</td>'
                         f'<td class="num">{_cost(a.cost_usd)}</td>'
                         f"<td>{esc(', '.join(a.sources))}</td></tr>")
        parts.append("</table>")
        parts += [_workflow(repo, w) for w in mine]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
