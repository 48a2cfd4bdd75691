"""The HTML report, rendered by a real headless Chromium (``--dump-dom``): the task and workflow
status, the timeline of phases, tokens and cost per agent against the budgets with the limit
drawn over an over-budget bar, the escalation and its reason, the verdicts linked to the stored
logs and report, and the date."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlparse

import pytest
from conftest import ossa
from test_agents_workflow import make_base
from test_agents_workflow import task_worktree

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(Debian: apt-get install chromium)")


class Dom(HTMLParser):
    """The rendered DOM as (tag, attributes, text) elements."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.stack: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "br", "line", "rect", "img"):
            self.stack.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.elements[self.stack[-1]][0] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for i in self.stack:
            self.elements[i][2].append(data)

    def find(self, tag: str, cls: str = "") -> list[tuple[dict[str, str], str]]:
        return [(a, "".join(t)) for g, a, t in self.elements
                if g == tag and (not cls or cls in a.get("class", "").split())]


def render(page: Path) -> Dom:
    assert CHROMIUM is not None
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.returncode == 0 and "<body" in proc.stdout, proc.stderr[-2000:]
    dom = Dom()
    dom.feed(proc.stdout)
    return dom


def test_the_report_in_a_browser(committed_repo: Path, tmp_path: Path) -> None:
    from test_agents_workflow import CONFIG

    base = make_base(committed_repo, CONFIG)
    good = task_worktree(base, "greet")
    assert ossa(good, "workflow", "run").returncode == 0
    spendy = task_worktree(base, "spendy", "--output-tokens", "5000")
    assert ossa(spendy, "workflow", "run").returncode == 1
    page = tmp_path / "report.html"
    made = ossa(base, "budget", "report", "--all", "--format", "html", "-o", str(page))
    assert made.returncode == 0, made.stderr
    dom = render(page)

    generated = dom.find("p", "generated")
    assert re.match(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", generated[0][1])
    tasks = {a["id"]: text for a, text in dom.find("section", "task")}
    assert set(tasks) == {"task-greet", "task-spendy"}
    badges = [t for _, t in dom.find("span", "status")]
    assert "SUCCEEDED" in badges and "ESCALATED" in badges and "OVER BUDGET" in badges
    escalations = [t for _, t in dom.find("ul", "escalations")]
    assert len(escalations) == 1 and "ESCALATED" in escalations[0]
    assert "researcher used 5," in escalations[0] and "of its 4,000 tokens" in escalations[0]
    # The over-budget bar is red, and the limit is drawn on top of it, with its value.
    over = [a for a, _ in dom.find("rect", "over")]
    assert [(a["data-task"], a["data-agent"]) for a in over] == [("spendy", "researcher")]
    limit = [a for a, _ in dom.find("line", "limit")
             if (a["data-task"], a["data-agent"]) == ("spendy", "researcher")]
    assert len(limit) == 1
    bar_end = float(over[0]["x"]) + float(over[0]["width"])
    assert float(over[0]["x"]) < float(limit[0]["x1"]) < bar_end  # drawn across the red bar
    labels = [t for _, t in dom.find("text", "over-label")]
    assert len(labels) == 1 and labels[0].startswith("OVER: ") and "(limit 4,000)" in labels[0]
    # The succeeded workflow: timeline and table of its six phases, with duration, tokens, cost.
    assert len(dom.find("rect", "phase")) == 7  # six phases + the escalated plan
    rows = [t for a, t in dom.find("tr") if a.get("class", "").startswith("phase-")]
    assert len(rows) == 7 and any("approve" in r for r in rows)
    # Verdicts and agents link to what is stored in the git common dir.
    links = [a["href"] for a, _ in dom.find("a", "log") + dom.find("a", "report")]
    assert links and all(Path(unquote(urlparse(h).path)).exists() for h in links), links
    assert any(h.endswith("compliance-1.md") for h in links)


def test_workflow_report_of_one_workflow(committed_repo: Path, tmp_path: Path) -> None:
    base = make_base(committed_repo)
    wt = task_worktree(base, "one")
    assert ossa(wt, "workflow", "run").returncode == 0
    out = ossa(wt, "workflow", "report")
    assert out.returncode == 0 and out.stdout.startswith("<!DOCTYPE html>")
    assert 'id="workflow-1"' in out.stdout and "SUCCEEDED" in out.stdout
    page = tmp_path / "one.html"
    page.write_text(out.stdout)
    dom = render(page)
    assert [a["id"] for a, _ in dom.find("section", "workflow")] == ["workflow-1"]
    assert not dom.find("ul", "escalations")
