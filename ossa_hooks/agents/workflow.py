"""The 360° loop: plan → execute → review (→ execute again on "request changes") → judge →
learn → govern, with every workflow and every run of a phase persisted in SQLite
(``workflow.db`` in the git common dir), so status is visible from any worktree and
``--resume`` continues after a crash.

This module owns the definition, the state and the driving of the loop; the phases themselves
are in :mod:`ossa_hooks.agents.phases`, the reports in :mod:`ossa_hooks.agents.report`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks import pids
from ossa_hooks import store
from ossa_hooks.agents import budget as budget
from ossa_hooks.agents import registry as registry
from ossa_hooks.agents.specs import WORKSPACE
from ossa_hooks.config import Config
from ossa_hooks.config import ListOf
from ossa_hooks.config import Obj
from ossa_hooks.config import Scalar
from ossa_hooks.config import fail_at
from ossa_hooks.config import parse_with_lines
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

PHASES = ("1_plan", "2_execute", "3_review", "4_judge", "5_learn", "6_govern")
AGENT_PHASES = {"1_plan": "researcher", "2_execute": "coder", "3_review": "reviewer"}
DEFAULT_DEFINITION = Path(WORKSPACE) / "workflows" / "360-loop.yaml"
DB_NAME = "workflow.db"
FINAL = ("succeeded", "failed", "escalated")

# --- the definition --------------------------------------------------------------------------

DEFINITION_SCHEMA = Obj(
    {
        "name": Scalar("str", default="360-loop"),
        "task": Scalar("str"),
        "max_review_rounds": Scalar("int", default=None, nullable=True),
        "budget": Scalar("int", default=None, nullable=True),
        "phases": ListOf(
            Obj({"name": Scalar("str", choices=PHASES),
                 "agent": Scalar("str", default=None, nullable=True)}, shorthand="name"),
            tuple({"name": p, "agent": AGENT_PHASES.get(p)} for p in PHASES),
        ),
        "success": Obj(
            {
                "review_approved": Scalar("bool", default=True),
                "judge_passed": Scalar("bool", default=True),
                "within_budget": Scalar("bool", default=True),
            }
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    task: str
    max_review_rounds: int | None
    budget: int | None
    phases: tuple[tuple[str, str | None], ...]
    success: Mapping[str, bool]
    path: Path
    ignored: tuple[str, ...] = ()  # fields of an OSSA Workflow manifest that do not map
    agents: tuple[tuple[str, Path], ...] = ()  # agent name -> the manifest a step refers to

    def agent(self, phase: str) -> str | None:
        return next((a for p, a in self.phases if p == phase), None)

    def has(self, phase: str) -> bool:
        return any(p == phase for p, _ in self.phases)


def load_definition(path: Path) -> Definition:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise OssaError(f"{path}: no workflow definition here; write one with "
                        '`ossa-hooks spawn "TASK"`') from None
    except OSError as e:
        raise OssaError(f"{path}: cannot read: {e.strerror}") from None
    from ossa_hooks.agents import manifest

    if manifest.is_manifest(text):
        return manifest.definition_from_manifest(text, path)
    name = str(path)
    data, lines = parse_with_lines(text, name, DEFINITION_SCHEMA)
    phases = [(p["name"], p["agent"] or AGENT_PHASES.get(p["name"])) for p in data["phases"]]
    order = [PHASES.index(p) for p, _ in phases]
    if order != sorted(set(order)):
        raise fail_at(name, lines, "phases", f"phases run in this order, each once: "
                                              f"{', '.join(PHASES)}")
    for i, (phase, agent) in enumerate(phases):
        if phase in AGENT_PHASES and agent is None:
            raise fail_at(name, lines, f"phases[{i}]", f"{phase} needs an agent")
    return Definition(data["name"], data["task"], data["max_review_rounds"], data["budget"],
                      tuple(phases), dict(data["success"]), path)


# --- state -------------------------------------------------------------------------------------

# Every run of a phase is a row of its own (``phase_runs``): running a phase again adds a row,
# so the table always adds up to the ledger. (``phases``, one row per phase and round, was the
# table of earlier versions; it is no longer written.)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS workflows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    description TEXT NOT NULL,
    branch TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    worktree TEXT NOT NULL,
    definition TEXT NOT NULL,
    agents TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    round INTEGER NOT NULL DEFAULT 1,
    reason TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    started REAL NOT NULL,
    ended REAL,
    exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS phase_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow INTEGER NOT NULL,
    name TEXT NOT NULL,
    round INTEGER NOT NULL,
    status TEXT NOT NULL,
    agent TEXT,
    started REAL NOT NULL,
    ended REAL,
    tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    exit_code INTEGER,
    note TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS phase_runs_workflow ON phase_runs(workflow);
"""


@dataclass(frozen=True, slots=True)
class Workflow:
    id: int
    name: str
    task: str
    description: str
    branch: str
    base_commit: str
    worktree: str
    definition: str
    agents: Mapping[str, str]
    status: str
    round: int
    reason: str
    pid: int | None
    started: float
    ended: float | None
    exit_code: int | None

    @property
    def shown_status(self) -> str:
        """``running`` whose runner process is gone reads ``crashed`` (resume it)."""
        if self.status == "running" and (self.pid is None or not pids.alive(self.pid)):
            return "crashed"
        return self.status

    def as_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["agents"] = dict(self.agents)
        d["status"] = self.shown_status
        return d


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    round: int
    status: str
    agent: str | None
    started: float
    ended: float | None
    tokens: int
    exit_code: int | None
    note: str
    result: Mapping[str, Any]
    cost_usd: float | None = None
    id: int = 0

    def as_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["result"] = dict(self.result)
        return d


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


@contextmanager
def connect(repo: RepoPaths) -> Iterator[Any]:
    with store.connect(db_path(repo), _SCHEMA) as con:
        yield con


def _wf(row: Any) -> Workflow:
    return Workflow(row["id"], row["name"], row["task"], row["description"], row["branch"],
                    row["base_commit"], row["worktree"], row["definition"],
                    json.loads(row["agents"]), row["status"], row["round"], row["reason"],
                    row["pid"], row["started"], row["ended"], row["exit_code"])


def phase_of(row: Any) -> Phase:
    return Phase(row["name"], row["round"], row["status"], row["agent"], row["started"],
                 row["ended"], row["tokens"], row["exit_code"], row["note"],
                 json.loads(row["result"]), row["cost_usd"], row["id"])


def get(repo: RepoPaths, workflow_id: int) -> Workflow:
    if not db_path(repo).exists():
        raise OssaError(f"no workflow {workflow_id} (none has run in this repository yet)")
    with connect(repo) as con:
        row = con.execute("SELECT * FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
    if row is None:
        raise OssaError(f"no workflow {workflow_id} (see `ossa-hooks workflow status --all`)")
    return _wf(row)


def all_workflows(repo: RepoPaths, worktree: Path | None = None) -> list[Workflow]:
    if not db_path(repo).exists():
        return []
    with connect(repo) as con:
        if worktree is None:
            rows = con.execute("SELECT * FROM workflows ORDER BY id").fetchall()
        else:
            rows = con.execute("SELECT * FROM workflows WHERE worktree = ? ORDER BY id",
                               (str(worktree),)).fetchall()
    return [_wf(r) for r in rows]


def phases_of(repo: RepoPaths, workflow_id: int) -> list[Phase]:
    """Every run of every phase of the workflow, in the order they started."""
    with connect(repo) as con:
        rows = con.execute("SELECT * FROM phase_runs WHERE workflow = ? ORDER BY id",
                           (workflow_id,)).fetchall()
    return [phase_of(r) for r in rows]


def set_workflow(repo: RepoPaths, workflow_id: int, **fields: Any) -> None:
    cols = ", ".join(f"{k} = ?" for k in fields)
    with connect(repo) as con:
        con.execute(f"UPDATE workflows SET {cols} WHERE id = ?",  # noqa: S608 - fixed names
                    (*fields.values(), workflow_id))


# --- entry points ------------------------------------------------------------------------------


def is_main_worktree(repo: RepoPaths) -> bool:
    """True in the repository's main worktree (its git dir is the common dir)."""
    return os.path.realpath(repo.git_dir_str) == os.path.realpath(repo.common_dir_str)


def refuse_main(repo: RepoPaths, what: str, here: bool) -> None:
    """Agents work in task worktrees: the main one only when the user says so (``--here``)."""
    if here or not is_main_worktree(repo):
        return
    raise OssaError(f"{what} in the main worktree would let agents commit onto "
                    f"{_branch(repo)}; make a task worktree (`ossa-hooks worktree create AGENT "
                    "TASK`) and run it there, or pass --here to run here anyway")


def _branch(repo: RepoPaths) -> str:
    proc = git.run(["symbolic-ref", "-q", "--short", "HEAD"], repo.toplevel, check=False)
    return proc.stdout.decode("utf-8", "replace").strip() or "HEAD"


def base_commit(worktree: Path, config: Config) -> str:
    """Where the task started: the merge-base with its base branch (``.env``, then config), or
    HEAD when no base branch is known."""
    env = budget.read_env(worktree / budget.ENV_FILE)
    start = env.get("OSSA_BASE_COMMIT")
    if start and git.ok(["merge-base", "--is-ancestor", start, "HEAD"], worktree):
        return git.out(["rev-parse", f"{start}^{{commit}}"], worktree)
    base = env.get("OSSA_BASE_BRANCH") or config.get("base_branch")
    if base:
        proc = git.run(["merge-base", "HEAD", base], worktree, check=False)
        if proc.returncode == 0:
            return proc.stdout.decode().strip()
    return git.out(["rev-parse", "HEAD"], worktree)


def _refuse_alive(repo: RepoPaths, worktree: Path, wf: Workflow | None) -> None:
    """No workflow starts or resumes while an agent works in the worktree (an orphan of a
    runner killed with SIGKILL keeps writing there) or another runner holds its lease."""
    from ossa_hooks.worktree import lease

    found = registry.alive(repo, worktree=worktree)
    if wf is not None:
        found += [a for a in registry.alive(repo, workflow=wf.id) if a not in found]
    if found:
        a = found[0]
        of = f" of workflow {a.workflow}" if a.workflow is not None else ""
        raise OssaError(f"agent {a.id}{of} is still running (process group {a.pid}) in "
                        f"{a.worktree}; wait for it, or end it: ossa agents terminate {a.id}",
                        code=1)
    held = lease.read(repo, worktree)
    if held is not None and lease.is_live(held) and held.pid not in lease.ancestors():
        raise lease.LeaseHeld(f"{worktree} is in use by {held.describe()}: wait for it, or "
                              "stop it first", 1)


def prepare(repo: RepoPaths, config: Config, worktree: Path, definition_path: Path | None,
            resume: bool, workflow_id: int | None = None, out: Any = sys.stdout) -> Any:
    """A runner (:class:`ossa_hooks.agents.phases.Runner`) for a new workflow, or for the one
    to resume."""
    from ossa_hooks.agents import phases
    from ossa_hooks.agents import runner
    from ossa_hooks.agents import specs as specs_mod

    wf: Workflow | None = None
    if workflow_id is not None:
        wf = get(repo, workflow_id)
        if Path(wf.worktree) != worktree:
            raise OssaError(f"workflow {wf.id} belongs to {wf.worktree}: run it there")
    elif resume:
        mine = [w for w in all_workflows(repo, worktree) if w.status != "succeeded"]
        if not mine:
            raise OssaError("nothing to resume in this worktree (`ossa-hooks workflow run` "
                            "starts a workflow)")
        wf = mine[-1]
    for other in all_workflows(repo, worktree):
        if other.status == "running" and other.pid and other.pid != os.getpid() \
                and pids.alive(other.pid):
            raise OssaError(f"workflow {other.id} is running in this worktree (pid {other.pid}); "
                            "wait for it, or stop it first")
    _refuse_alive(repo, worktree, wf)
    path = Path(wf.definition) if wf is not None else (definition_path or
                                                        worktree / DEFAULT_DEFINITION)
    definition = load_definition(path)
    for field in definition.ignored:
        print(f"ossa-hooks: {path}: ignored: {field}", file=sys.stderr)
    specs = specs_mod.load_workspace_specs(worktree)
    specs.update(phases.manifest_agents(definition))
    for phase, agent in definition.phases:
        if phase in AGENT_PHASES and agent not in specs:
            raise OssaError(f"{specs_mod.workspace(worktree)}/agents/{agent}.yaml: missing; the "
                            f"workflow's {phase} needs it (run `ossa-hooks spawn \"TASK\"`)")
    task = runner.ensure_task(repo, config, worktree, specs)
    if definition.budget is not None:
        budget.register_task(repo, task, definition.budget, specs_mod.budgets_of(specs, config))
    if wf is None:
        now = time.time()
        with connect(repo) as con:
            cur = con.execute(
                "INSERT INTO workflows (name, task, description, branch, base_commit, worktree,"
                " definition, status, pid, started) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (definition.name, task.name, definition.task, task.branch,
                 base_commit(worktree, config), str(worktree), str(path.resolve()),
                 os.getpid(), now),
            )
            new_id = int(cur.lastrowid or 0)
        ids = {}
        for phase, agent in definition.phases:
            if phase in AGENT_PHASES and agent is not None and agent not in ids:
                ids[agent] = registry.spawn(repo, specs[agent], worktree, new_id)
        set_workflow(repo, new_id, agents=json.dumps(ids))
        wf = get(repo, new_id)
    else:
        set_workflow(repo, wf.id, status="running", pid=os.getpid(), ended=None, reason="",
                     exit_code=None)
        wf = get(repo, wf.id)
    return phases.Runner(repo, config, worktree, definition, wf, specs, task, out)


def run_workflow(cwd: Path | None = None, *, resume: bool = False,
                 definition: Path | None = None, only: str | None = None,
                 workflow_id: int | None = None, here: bool = False) -> int:
    """``workflow run``/``orchestrate``/``execute phase``: the loop under the worktree's lease,
    with SIGTERM and SIGHUP ending the agent's process group like Ctrl-C does."""
    from ossa_hooks import config as config_mod
    from ossa_hooks.agents import phases
    from ossa_hooks.agents.runner import trapped
    from ossa_hooks.worktree import lease

    repo = git.repo_paths(cwd)
    refuse_main(repo, "running the workflow", here)
    worktree = repo.worktree
    cfg = config_mod.load(worktree)
    with trapped():
        run = prepare(repo, cfg, worktree, definition, resume, workflow_id)
        try:
            with lease.held(repo, worktree, f"workflow {run.wf.id}", workflow_id=str(run.wf.id)):
                return phases.drive(run, only)
        except lease.LeaseHeld:
            set_workflow(repo, run.wf.id, status="failed", pid=None, exit_code=1,
                         reason="the worktree's lease is held by another process")
            raise
