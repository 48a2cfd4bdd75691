"""Token budgets: counting with tiktoken (offline), the ledger of agent calls, limits,
escalation and the budget report.

The ledger is ``budget.db`` in the repository's state dir, so every worktree's agents write to one
place and a report from the main worktree sees every task. A *task* is identified by its agent
branch (``agents/AGENT/TASK``): the name of a task can repeat across agents, a branch cannot.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from ossa_hooks import git
from ossa_hooks import store
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

if TYPE_CHECKING:
    from ossa_hooks.hook_context import HookContext

DB_NAME = "budget.db"
ENV_FILE = ".env"

# --- counting ------------------------------------------------------------------------------

# Encodings shipped with the package: file name and the SHA-256 tiktoken publishes for it
# (tiktoken_ext/openai_public.py), so a damaged or swapped file is refused, never used.
_OFFLINE: Mapping[str, tuple[str, str]] = {
    "cl100k_base": (
        "cl100k_base.tiktoken.gz",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
# What tiktoken's own constructor for cl100k_base uses beside the ranks.
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def encodings_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "encodings"


def offline_ranks(name: str) -> dict[bytes, int]:
    """The BPE ranks of a shipped encoding, checked against tiktoken's published hash."""
    import base64
    import gzip
    import hashlib

    file_name, sha256 = _OFFLINE[name]
    path = encodings_dir() / file_name
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise OssaError(
            f"{path}: cannot read the shipped encoding ({e}); reinstall ossa-hooks"
        ) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise OssaError(f"{path}: does not match tiktoken's published hash; reinstall ossa-hooks")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=4)
def encoding(name: str) -> Any:
    """A tiktoken ``Encoding``: the shipped copy for cl100k_base, tiktoken's loader otherwise."""
    try:
        import tiktoken
    except ImportError:
        raise OssaError("tiktoken is not installed: pip install tiktoken") from None
    if name in _OFFLINE:
        return tiktoken.Encoding(
            name=name,
            pat_str=_CL100K_PAT,
            mergeable_ranks=offline_ranks(name),
            special_tokens=dict(_CL100K_SPECIAL),
        )
    try:
        return tiktoken.get_encoding(name)
    except ValueError:
        raise OssaError(
            f"budget.encoding: unknown tiktoken encoding '{name}' (shipped offline: "
            f"{', '.join(_OFFLINE)})"
        ) from None
    except Exception as e:  # noqa: BLE001 - tiktoken raises whatever its download raised
        raise OssaError(
            f"budget.encoding: '{name}' is not shipped with ossa-hooks and could not be downloaded "
            f"({type(e).__name__}); use budget.encoding: cl100k_base"
        ) from None


def count_tokens(text: str, encoding_name: str = "cl100k_base") -> int:
    """Tokens of ``text``; special-token markers in agent text count as plain text."""
    if not text:
        return 0
    return len(encoding(encoding_name).encode(text, disallowed_special=()))


# --- tasks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskRef:
    """The task a worktree works on: from its ``.env`` (written by ``worktree create``) or,
    without one, its branch."""

    name: str
    branch: str
    worktree: str
    budget: int | None = None


def read_env(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (values may be shell-quoted); missing file: empty."""
    import shlex

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value]
        env[key.strip()] = parts[0] if len(parts) == 1 else " ".join(parts)
    return env


def task_of(worktree: Path) -> TaskRef:
    env = read_env(worktree / ENV_FILE)
    branch = env.get("OSSA_BRANCH") or _current_branch(worktree)
    name = env.get("OSSA_TASK_NAME") or branch.rsplit("/", 1)[-1]
    raw = env.get("OSSA_TOKEN_BUDGET_TASK", "")
    budget = int(raw) if raw.strip().isdigit() else None
    return TaskRef(name, branch, str(env.get("OSSA_WORKTREE") or worktree), budget)


def _current_branch(worktree: Path) -> str:
    proc = git.run(["symbolic-ref", "-q", "--short", "HEAD"], worktree, check=False)
    name = proc.stdout.decode("utf-8", "surrogateescape").strip()
    if proc.returncode != 0 or not name:
        raise OssaError(f"{worktree}: HEAD is detached and there is no .env naming the task; "
                        "run this in a task worktree (`ossa-hooks worktree create`)")
    return name


# --- the ledger ------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    branch TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    worktree TEXT NOT NULL,
    budget INTEGER NOT NULL,
    agents TEXT NOT NULL DEFAULT '{}',
    tip TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    branch TEXT NOT NULL,
    task TEXT NOT NULL,
    workflow INTEGER,
    agent TEXT NOT NULL,
    agent_type TEXT NOT NULL,
    phase TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    source TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    seconds REAL NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS calls_branch ON calls(branch);
"""


@dataclass(frozen=True, slots=True)
class Usage:
    """The tokens of one agent call and where the numbers come from
    (``provider:NAME`` when the agent program reported them, ``tiktoken:ENCODING`` otherwise)."""

    prompt: int
    output: int
    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.prompt + self.output


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


def register_task(repo: RepoPaths, task: TaskRef, budget: int, agents: Mapping[str, int]) -> None:
    """Create or update a task's budgets (agent name -> tokens; agents not named keep theirs)."""
    now = time.time()
    with store.connect(db_path(repo), _SCHEMA) as con:
        con.execute("BEGIN IMMEDIATE")
        row = con.execute("SELECT agents FROM tasks WHERE branch = ?", (task.branch,)).fetchone()
        merged = {**(json.loads(row["agents"]) if row else {}), **agents}
        con.execute(
            "INSERT INTO tasks (branch, name, worktree, budget, agents, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(branch) DO UPDATE SET name=excluded.name,"
            " worktree=excluded.worktree, budget=excluded.budget, agents=excluded.agents,"
            " updated=excluded.updated",
            (task.branch, task.name, task.worktree, budget, json.dumps(merged), now, now),
        )
        con.execute("COMMIT")


def set_tip(repo: RepoPaths, branch: str, sha: str) -> None:
    """Remember a task branch's newest commit (the branch may be deleted once merged)."""
    with store.connect(db_path(repo), _SCHEMA) as con:
        con.execute("UPDATE tasks SET tip = ?, updated = ? WHERE branch = ?",
                    (sha, time.time(), branch))


def record(
    repo: RepoPaths,
    task: TaskRef,
    *,
    agent: str,
    agent_type: str,
    phase: str,
    usage: Usage,
    workflow: int | None = None,
    exit_code: int = 0,
    seconds: float = 0.0,
) -> None:
    """Append one agent call to the ledger."""
    with store.connect(db_path(repo), _SCHEMA) as con:
        con.execute(
            "INSERT INTO calls (time, branch, task, workflow, agent, agent_type, phase,"
            " prompt_tokens, output_tokens, source, exit_code, seconds, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), task.branch, task.name, workflow, agent, agent_type, phase,
             usage.prompt, usage.output, usage.source, exit_code, seconds,
             json.dumps(dict(usage.detail), sort_keys=True)),
        )


def tokens_of(repo: RepoPaths, workflow: int, phase: str, since: float) -> int:
    """Tokens of a workflow phase's calls made since ``since`` (an escalated phase's share)."""
    with store.connect(db_path(repo), _SCHEMA) as con:
        row = con.execute(
            "SELECT COALESCE(SUM(prompt_tokens + output_tokens), 0) FROM calls"
            " WHERE workflow = ? AND phase = ? AND time >= ?", (workflow, phase, since)
        ).fetchone()
    return int(row[0])


@dataclass(frozen=True, slots=True)
class AgentUsage:
    name: str
    used: int
    budget: int | None
    prompt: int
    output: int
    calls: int
    sources: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"used": self.used, "budget": self.budget, "prompt": self.prompt,
                "output": self.output, "calls": self.calls, "sources": list(self.sources)}


@dataclass(frozen=True, slots=True)
class TaskUsage:
    name: str
    branch: str
    worktree: str
    used: int
    budget: int
    agents: tuple[AgentUsage, ...]
    calls: int

    def agent(self, name: str) -> AgentUsage | None:
        return next((a for a in self.agents if a.name == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "task": {"name": self.name, "branch": self.branch, "worktree": self.worktree,
                     "used": self.used, "budget": self.budget, "calls": self.calls},
            "agents": {a.name: a.as_json() for a in self.agents},
        }


# Agents are listed in the loop's order, others after them by name.
_ORDER = {"researcher": 0, "coder": 1, "reviewer": 2}


def usage(repo: RepoPaths, branches: Sequence[str] | None = None) -> list[TaskUsage]:
    """Used / budget per task (all registered tasks, or those of ``branches``), oldest first."""
    path = db_path(repo)
    if not path.exists():
        return []
    with store.connect(path, _SCHEMA) as con:
        tasks = con.execute("SELECT * FROM tasks ORDER BY created, branch").fetchall()
        rows = con.execute(
            "SELECT branch, agent, SUM(prompt_tokens) p, SUM(output_tokens) o, COUNT(*) n,"
            " GROUP_CONCAT(DISTINCT source) s FROM calls GROUP BY branch, agent ORDER BY MIN(id)"
        ).fetchall()
        orphans = con.execute(
            "SELECT DISTINCT branch, task FROM calls WHERE branch NOT IN (SELECT branch FROM tasks)"
        ).fetchall()
    by_branch: dict[str, list[Any]] = {}
    for r in rows:
        by_branch.setdefault(r["branch"], []).append(r)
    known = [(t["branch"], t["name"], t["worktree"], t["budget"], json.loads(t["agents"]))
             for t in tasks]
    known += [(o["branch"], o["task"], "", 0, {}) for o in orphans]
    wanted = None if branches is None else set(branches)
    result = []
    for branch, name, worktree, budget, agent_budgets in known:
        if wanted is not None and branch not in wanted:
            continue
        agents: dict[str, AgentUsage] = {
            a: AgentUsage(a, 0, int(b), 0, 0, 0, ()) for a, b in agent_budgets.items()
        }
        for r in by_branch.get(branch, []):
            agents[r["agent"]] = AgentUsage(
                r["agent"], r["p"] + r["o"], agent_budgets.get(r["agent"]), r["p"], r["o"],
                r["n"], tuple(sorted(set((r["s"] or "").split(",")) - {""})),
            )
        ordered = sorted(agents.values(), key=lambda a: (_ORDER.get(a.name, len(_ORDER)), a.name))
        result.append(TaskUsage(name, branch, worktree, sum(a.used for a in agents.values()),
                                budget, tuple(ordered),
                                sum(a.calls for a in agents.values())))
    return result


def task_usage(repo: RepoPaths, task: TaskRef) -> TaskUsage:
    found = usage(repo, [task.branch])
    if found:
        return found[0]
    return TaskUsage(task.name, task.branch, task.worktree, 0, task.budget or 0, (), 0)


# --- limits and escalation ---------------------------------------------------------------


class BudgetExceeded(OssaError):
    """A call would overrun, or did overrun, a budget: the loop stops with status ``escalated``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"budget exceeded: {reason}", code=1)
        self.reason = reason
        self.output: str | None = None  # what the agent answered, when the call did happen


def check_before(repo: RepoPaths, task: TaskRef, agent: str, prompt_tokens: int) -> None:
    """Refuse a call whose prompt alone is more than what is left of the agent's or the task's
    budget."""
    tu = task_usage(repo, task)
    au = tu.agent(agent)
    if au is not None and au.budget is not None and prompt_tokens > au.budget - au.used:
        left = max(au.budget - au.used, 0)
        raise BudgetExceeded(
            f"{agent}'s prompt is {prompt_tokens:,} tokens but only {left:,} "
            f"of its {au.budget:,} are left"
        )
    if tu.budget and prompt_tokens > tu.budget - tu.used:
        left = max(tu.budget - tu.used, 0)
        raise BudgetExceeded(
            f"{agent}'s prompt is {prompt_tokens:,} tokens but only {left:,} "
            f"of task {task.name}'s {tu.budget:,} are left"
        )


def check_after(repo: RepoPaths, task: TaskRef, agent: str) -> None:
    """Escalate when a call has taken the agent or the task past its budget."""
    tu = task_usage(repo, task)
    au = tu.agent(agent)
    if au is not None and au.budget is not None and au.used > au.budget:
        raise BudgetExceeded(f"{agent} used {au.used:,} of its {au.budget:,} tokens")
    if tu.budget and tu.used > tu.budget:
        raise BudgetExceeded(f"task {task.name} used {tu.used:,} of its {tu.budget:,} tokens")


def escalate(
    repo: RepoPaths, config: Config, task: TaskRef, reason: str, workflow: int | None = None
) -> None:
    """Say why, log it to the audit trail, run ``budget.escalate_command`` (if set)."""
    import subprocess

    from ossa_hooks import audit

    print(f"ossa-hooks: escalated: {reason}", file=sys.stderr)
    command = config.get("budget.escalate_command")
    rc: int | None = None
    if command:
        from ossa_hooks import trust
        from ossa_hooks.errors import OssaError

        try:  # a repository-supplied command runs only once the user approved it
            trust.require_trusted(repo, trust.ESCALATE, [str(command)])
        except OssaError as e:
            print(f"ossa-hooks: {e.message}", file=sys.stderr)
            command = None
    if command:
        env = git.no_git_env()
        env.update({
            "OSSA_ESCALATION_REASON": reason,
            "OSSA_TASK_NAME": task.name,
            "OSSA_BRANCH": task.branch,
            "OSSA_WORKTREE": task.worktree,
            "OSSA_WORKFLOW_ID": "" if workflow is None else str(workflow),
        })
        try:
            rc = subprocess.run(command, shell=True, cwd=task.worktree, env=env,  # noqa: S602
                                check=False, stdin=subprocess.DEVNULL).returncode
        except OSError as e:
            print(f"ossa-hooks: budget.escalate_command could not run: {e}", file=sys.stderr)
        if rc:
            print(f"ossa-hooks: budget.escalate_command exited {rc}", file=sys.stderr)
    audit.record(repo, "budget", "escalation", 1, 0.0,
                 {"reason": reason, "task": task.name, "branch": task.branch,
                  "workflow": workflow, "escalate_command_exit": rc}, outcome="escalated")


# --- reports -----------------------------------------------------------------------------


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


# Tasks whose report this process already gave: post-merge runs ``ossa-cleanup`` (which
# reports the tasks it removes, through ``report_for_branches``) and ``ossa-budget`` in one
# process, and a merged task's report is printed once.
_REPORTED: set[str] = set()


def report_for_branches(repo: RepoPaths, config: Config, branches: Sequence[str]) -> str:
    """Text budget report of the tasks whose agent branches were just merged ('' if none)."""
    tasks = usage(repo, branches)
    if not tasks:
        return ""
    _REPORTED.update(t.branch for t in tasks)
    return format_text(tasks, config.get("budget.encoding"))


# --- the post-merge action -------------------------------------------------------------------


def merged_task_branches(repo: RepoPaths, cwd: Path) -> list[str]:
    """Task branches whose newest commit the merge brought into HEAD (not in ORIG_HEAD)."""
    path = db_path(repo)
    if not path.exists():
        return []
    with store.connect(path, _SCHEMA) as con:
        rows = con.execute("SELECT branch, tip FROM tasks").fetchall()
    has_orig = git.ok(["rev-parse", "-q", "--verify", "ORIG_HEAD^{commit}"], cwd)
    merged = []
    for r in rows:
        proc = git.run(["rev-parse", "-q", "--verify", f"refs/heads/{r['branch']}^{{commit}}"],
                       cwd, check=False)
        tips = {proc.stdout.decode().strip()} if proc.returncode == 0 else set()
        if r["tip"]:
            tips.add(r["tip"])
        for tip in tips - {""}:
            if not git.ok(["merge-base", "--is-ancestor", tip, "HEAD"], cwd):
                continue
            if has_orig and git.ok(["merge-base", "--is-ancestor", tip, "ORIG_HEAD"], cwd):
                continue
            merged.append(r["branch"])
            break
    return merged


def hook(ctx: HookContext) -> int:
    """post-merge ``ossa-budget``: print the budget report of the tasks the merge brought in."""
    cwd = ctx.repo.toplevel or ctx.repo.git_dir
    branches = [b for b in merged_task_branches(ctx.repo, cwd) if b not in _REPORTED]
    text = report_for_branches(ctx.repo, ctx.config, branches) if branches else ""
    if text:
        print("ossa-hooks: token budgets of the merged tasks:")
        print(text)
    return 0


def current_task(repo: RepoPaths) -> TaskRef | None:
    """The task of the current worktree when it has one in the ledger or a ``.env``."""
    if repo.toplevel is None:
        return None
    env = read_env(repo.toplevel / ENV_FILE)
    if env.get("OSSA_TASK_NAME"):
        return task_of(repo.toplevel)
    try:
        task = task_of(repo.toplevel)
    except OssaError:
        return None
    return task if usage(repo, [task.branch]) else None

