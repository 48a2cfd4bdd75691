"""Token budgets: counting with tiktoken (offline), the ledger of agent calls, limits,
escalation and the budget report.

The ledger is ``budget.db`` in the repository's state dir, so every worktree's agents write to one
place and a report from the main worktree sees every task. A *task* is identified by its agent
branch (``agents/AGENT/TASK``): the name of a task can repeat across agents, a branch cannot.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from ossa_hooks import git
from ossa_hooks import store

# Counting lives in agents/tokens.py; these names stay here for callers of this module.
from ossa_hooks.agents.tokens import count_tokens as count_tokens
from ossa_hooks.agents.tokens import encoding as encoding
from ossa_hooks.agents.tokens import encodings_dir as encodings_dir
from ossa_hooks.agents.tokens import offline_ranks as offline_ranks
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree.records import read_env as read_env

if TYPE_CHECKING:
    from ossa_hooks.hook_context import HookContext

DB_NAME = "budget.db"
ENV_FILE = ".env"


# --- tasks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskRef:
    """The task a worktree works on: from its ``.env`` (written by ``worktree create``) or,
    without one, its branch."""

    name: str
    branch: str
    worktree: str
    budget: int | None = None


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
    detail TEXT NOT NULL DEFAULT '{}',
    cost_usd REAL
);
CREATE INDEX IF NOT EXISTS calls_branch ON calls(branch);
CREATE TABLE IF NOT EXISTS escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    branch TEXT NOT NULL,
    task TEXT NOT NULL,
    workflow INTEGER,
    reason TEXT NOT NULL
);
"""


@contextmanager
def _connect(repo: RepoPaths) -> Iterator[Any]:
    """The ledger, with the columns later versions added (a ledger an older version wrote
    gains them, empty)."""
    with store.connect(db_path(repo), _SCHEMA) as con:
        cols = {r[1] for r in con.execute("PRAGMA table_info(calls)").fetchall()}
        if "cost_usd" not in cols:
            con.execute("ALTER TABLE calls ADD COLUMN cost_usd REAL")
        yield con


@dataclass(frozen=True, slots=True)
class Usage:
    """The tokens of one agent call and where the numbers come from
    (``provider:NAME`` when the agent program reported them, ``tiktoken:ENCODING`` otherwise)."""

    prompt: int
    output: int
    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None  # what the program reported it cost, when it did

    @property
    def total(self) -> int:
        return self.prompt + self.output


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


def register_task(repo: RepoPaths, task: TaskRef, budget: int, agents: Mapping[str, int]) -> None:
    """Create or update a task's budgets (agent name -> tokens; agents not named keep theirs)."""
    now = time.time()
    with _connect(repo) as con:
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
    with _connect(repo) as con:
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
    with _connect(repo) as con:
        con.execute(
            "INSERT INTO calls (time, branch, task, workflow, agent, agent_type, phase,"
            " prompt_tokens, output_tokens, source, exit_code, seconds, detail, cost_usd)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), task.branch, task.name, workflow, agent, agent_type, phase,
             usage.prompt, usage.output, usage.source, exit_code, seconds,
             json.dumps(dict(usage.detail), sort_keys=True), usage.cost_usd),
        )


def spent_since(repo: RepoPaths, workflow: int, phase: str, since: float
                ) -> tuple[int, float | None]:
    """Tokens and reported cost of a workflow phase's calls made since ``since``."""
    with _connect(repo) as con:
        row = con.execute(
            "SELECT COALESCE(SUM(prompt_tokens + output_tokens), 0), SUM(cost_usd),"
            " COUNT(cost_usd) FROM calls WHERE workflow = ? AND phase = ? AND time >= ?",
            (workflow, phase, since)).fetchone()
    return int(row[0]), (round(float(row[1]), 6) if row[2] else None)


@dataclass(frozen=True, slots=True)
class AgentUsage:
    name: str
    used: int
    budget: int | None
    prompt: int
    output: int
    calls: int
    sources: tuple[str, ...]
    cost_usd: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"used": self.used, "budget": self.budget, "prompt": self.prompt,
                "output": self.output, "calls": self.calls, "sources": list(self.sources),
                "cost_usd": self.cost_usd}


@dataclass(frozen=True, slots=True)
class TaskUsage:
    name: str
    branch: str
    worktree: str
    used: int
    budget: int
    agents: tuple[AgentUsage, ...]
    calls: int
    workflow: int | None = None  # the totals are this workflow's calls only
    escalations: tuple[tuple[float, str], ...] = ()

    @property
    def cost_usd(self) -> float | None:
        costs = [a.cost_usd for a in self.agents if a.cost_usd is not None]
        return round(sum(costs), 6) if costs else None

    def agent(self, name: str) -> AgentUsage | None:
        return next((a for a in self.agents if a.name == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "task": {"name": self.name, "branch": self.branch, "worktree": self.worktree,
                     "used": self.used, "budget": self.budget, "calls": self.calls,
                     "cost_usd": self.cost_usd, "workflow": self.workflow},
            "escalations": [{"time": t, "reason": r} for t, r in self.escalations],
            "agents": {a.name: a.as_json() for a in self.agents},
        }


# Agents are listed in the loop's order, others after them by name.
_ORDER = {"researcher": 0, "coder": 1, "reviewer": 2}


def usage(repo: RepoPaths, branches: Sequence[str] | None = None,
          workflow: int | None = None) -> list[TaskUsage]:
    """Used / budget per task (all registered tasks, or those of ``branches``), oldest first;
    with ``workflow``, the calls of that workflow only (its tasks' budgets still shown)."""
    path = db_path(repo)
    if not path.exists():
        return []
    where = "" if workflow is None else " WHERE workflow = ?"
    params: tuple[Any, ...] = () if workflow is None else (workflow,)
    with _connect(repo) as con:
        tasks = con.execute("SELECT * FROM tasks ORDER BY created, branch").fetchall()
        rows = con.execute(
            "SELECT branch, agent, SUM(prompt_tokens) p, SUM(output_tokens) o, COUNT(*) n,"  # noqa: S608
            " GROUP_CONCAT(DISTINCT source) s, SUM(cost_usd) c, COUNT(cost_usd) nc FROM calls"
            + where + " GROUP BY branch, agent ORDER BY MIN(id)", params
        ).fetchall()
        esc = con.execute("SELECT branch, time, reason FROM escalations"  # noqa: S608
                          + where + " ORDER BY id", params).fetchall()
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
                round(float(r["c"]), 6) if r["nc"] else None,
            )
        ordered = sorted(agents.values(), key=lambda a: (_ORDER.get(a.name, len(_ORDER)), a.name))
        result.append(TaskUsage(name, branch, worktree, sum(a.used for a in agents.values()),
                                budget, tuple(ordered),
                                sum(a.calls for a in agents.values()), workflow,
                                tuple((e["time"], e["reason"]) for e in esc
                                      if e["branch"] == branch)))
    return result


def task_usage(repo: RepoPaths, task: TaskRef) -> TaskUsage:
    found = usage(repo, [task.branch])
    if found:
        return found[0]
    return TaskUsage(task.name, task.branch, task.worktree, 0, task.budget or 0, (), 0)


def workflow_usage(repo: RepoPaths, task: TaskRef, workflow: int) -> TaskUsage:
    """The calls and escalations of one workflow, against its task's budgets."""
    found = usage(repo, [task.branch], workflow=workflow)
    if found:
        return found[0]
    return TaskUsage(task.name, task.branch, task.worktree, 0, task.budget or 0, (), 0,
                     workflow)


# --- limits and escalation ---------------------------------------------------------------


class BudgetExceeded(OssaError):
    """A call would overrun, or did overrun, a budget: the loop stops with status ``escalated``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"budget exceeded: {reason}", code=1)
        self.reason = reason
        self.output: str | None = None  # what the agent answered, when the call did happen


def expected_output(repo: RepoPaths, task: TaskRef, agent: str, default: int) -> int:
    """The answer a call of ``agent`` is expected to take: the mean output of its earlier calls
    in this task, else ``default`` (``budget.expected_output``)."""
    if not db_path(repo).exists():
        return default
    with _connect(repo) as con:
        row = con.execute("SELECT AVG(output_tokens), COUNT(*) FROM calls WHERE branch = ? AND"
                          " agent = ?", (task.branch, agent)).fetchone()
    return round(float(row[0])) if row[1] else default


def room_left(repo: RepoPaths, task: TaskRef, agent: str) -> int | None:
    """Tokens left for ``agent``: the smaller of what is left of its budget and of the task's
    (None: no limit)."""
    tu = task_usage(repo, task)
    au = tu.agent(agent)
    lefts = []
    if au is not None and au.budget is not None:
        lefts.append(max(au.budget - au.used, 0))
    if tu.budget:
        lefts.append(max(tu.budget - tu.used, 0))
    return min(lefts) if lefts else None


def check_before(repo: RepoPaths, task: TaskRef, agent: str, prompt_tokens: int,
                 expected: int = 0) -> None:
    """Refuse a call whose prompt plus the answer expected is more than what is left of the
    agent's or the task's budget: better to stop before paying than to pay and throw away."""
    need = prompt_tokens + expected
    tu = task_usage(repo, task)
    au = tu.agent(agent)
    what = f"{agent}'s prompt is {prompt_tokens:,} tokens (+{expected:,} expected answer)"
    if au is not None and au.budget is not None and need > au.budget - au.used:
        left = max(au.budget - au.used, 0)
        raise BudgetExceeded(f"{what} but only {left:,} of its {au.budget:,} are left")
    if tu.budget and need > tu.budget - tu.used:
        left = max(tu.budget - tu.used, 0)
        raise BudgetExceeded(f"{what} but only {left:,} of task {task.name}'s {tu.budget:,} "
                             "are left")


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
    # On record for good: raising a budget later does not make this escalation go away.
    with _connect(repo) as con:
        con.execute("INSERT INTO escalations (time, branch, task, workflow, reason)"
                    " VALUES (?, ?, ?, ?, ?)", (time.time(), task.branch, task.name, workflow,
                                                reason))
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


def report_for_branches(repo: RepoPaths, config: Config, branches: Sequence[str]) -> str:
    """Text budget report of the tasks whose agent branches were just merged ('' if none)."""
    tasks = usage(repo, branches)
    if not tasks:
        return ""
    from ossa_hooks.agents.budget_report import format_text

    return format_text(tasks, config.get("budget.encoding"))


# --- the post-merge action -------------------------------------------------------------------


def merged_task_branches(repo: RepoPaths, cwd: Path) -> list[str]:
    """Task branches whose newest commit the merge brought into HEAD (not in ORIG_HEAD)."""
    path = db_path(repo)
    if not path.exists():
        return []
    with _connect(repo) as con:
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
    """post-merge ``ossa-budget``: print the budget report of the tasks the merge brought in
    (it runs before ``ossa-cleanup``, whose sweep deletes the merged branches it reads)."""
    cwd = ctx.repo.toplevel or ctx.repo.git_dir
    branches = merged_task_branches(ctx.repo, cwd)
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

