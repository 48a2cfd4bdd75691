"""The 360° loop: plan → execute → review (→ execute again on "request changes") → judge →
learn → govern, with every workflow and phase persisted in SQLite (``workflow.db`` in the git
common dir), so status is visible from any worktree and ``--resume`` continues after a crash.
"""

from __future__ import annotations

import json
import os
import re
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
from ossa_hooks.agents import memory as memory
from ossa_hooks.agents import runner as agents
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
DEFAULT_DEFINITION = Path(agents.WORKSPACE) / "workflows" / "360-loop.yaml"
DB_NAME = "workflow.db"
APPROVE = "approve"
CHANGES = "request changes"

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
CREATE TABLE IF NOT EXISTS phases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow INTEGER NOT NULL,
    name TEXT NOT NULL,
    round INTEGER NOT NULL,
    status TEXT NOT NULL,
    agent TEXT,
    started REAL NOT NULL,
    ended REAL,
    tokens INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    note TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '{}',
    UNIQUE (workflow, name, round)
);
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

    def as_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["result"] = dict(self.result)
        return d


def db_path(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


@contextmanager
def _db(repo: RepoPaths) -> Iterator[Any]:
    with store.connect(db_path(repo), _SCHEMA) as con:
        yield con


def _wf(row: Any) -> Workflow:
    return Workflow(row["id"], row["name"], row["task"], row["description"], row["branch"],
                    row["base_commit"], row["worktree"], row["definition"],
                    json.loads(row["agents"]), row["status"], row["round"], row["reason"],
                    row["pid"], row["started"], row["ended"], row["exit_code"])


def get(repo: RepoPaths, workflow_id: int) -> Workflow:
    if not db_path(repo).exists():
        raise OssaError(f"no workflow {workflow_id} (none has run in this repository yet)")
    with _db(repo) as con:
        row = con.execute("SELECT * FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
    if row is None:
        raise OssaError(f"no workflow {workflow_id} (see `ossa-hooks workflow status --all`)")
    return _wf(row)


def all_workflows(repo: RepoPaths, worktree: Path | None = None) -> list[Workflow]:
    if not db_path(repo).exists():
        return []
    with _db(repo) as con:
        if worktree is None:
            rows = con.execute("SELECT * FROM workflows ORDER BY id").fetchall()
        else:
            rows = con.execute("SELECT * FROM workflows WHERE worktree = ? ORDER BY id",
                               (str(worktree),)).fetchall()
    return [_wf(r) for r in rows]


def phases_of(repo: RepoPaths, workflow_id: int) -> list[Phase]:
    with _db(repo) as con:
        rows = con.execute("SELECT * FROM phases WHERE workflow = ? ORDER BY started, id",
                           (workflow_id,)).fetchall()
    return [Phase(r["name"], r["round"], r["status"], r["agent"], r["started"], r["ended"],
                  r["tokens"], r["exit_code"], r["note"], json.loads(r["result"])) for r in rows]


def _set_workflow(repo: RepoPaths, workflow_id: int, **fields: Any) -> None:
    cols = ", ".join(f"{k} = ?" for k in fields)
    with _db(repo) as con:
        con.execute(f"UPDATE workflows SET {cols} WHERE id = ?",  # noqa: S608 - fixed names
                    (*fields.values(), workflow_id))



# --- running -----------------------------------------------------------------------------------


class PhaseFailed(OssaError):
    """A phase could not do its job (agent failed, commit refused, ...): the loop stops."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=1)


@dataclass(slots=True)
class Runner:
    """One workflow being driven in its task worktree."""

    repo: RepoPaths
    config: Config
    worktree: Path
    definition: Definition
    wf: Workflow
    specs: dict[str, agents.AgentSpec]
    task: budget.TaskRef
    out: Any = sys.stdout

    # -- plumbing --

    @property
    def data(self) -> Path:
        return agents.workspace(self.worktree) / "data"

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def done(self, name: str, round_: int) -> Phase | None:
        with _db(self.repo) as con:
            row = con.execute("SELECT * FROM phases WHERE workflow = ? AND name = ? AND round = ?"
                              " AND status = 'passed'", (self.wf.id, name, round_)).fetchone()
        if row is None:
            return None
        return Phase(row["name"], row["round"], row["status"], row["agent"], row["started"],
                     row["ended"], row["tokens"], row["exit_code"], row["note"],
                     json.loads(row["result"]))

    def _start_phase(self, name: str, round_: int, agent: str | None) -> None:
        with _db(self.repo) as con:
            con.execute(
                "INSERT INTO phases (workflow, name, round, status, agent, started)"
                " VALUES (?, ?, ?, 'running', ?, ?) ON CONFLICT(workflow, name, round) DO UPDATE"
                " SET status = 'running', agent = excluded.agent, started = excluded.started,"
                " ended = NULL, tokens = 0, exit_code = NULL, note = '', result = '{}'",
                (self.wf.id, name, round_, agent, time.time()),
            )

    def _end_phase(self, name: str, round_: int, status: str, *, tokens: int = 0,
                   exit_code: int = 0, note: str = "", result: Mapping[str, Any] | None = None
                   ) -> None:
        with _db(self.repo) as con:
            con.execute(
                "UPDATE phases SET status = ?, ended = ?, tokens = ?, exit_code = ?, note = ?,"
                " result = ? WHERE workflow = ? AND name = ? AND round = ?",
                (status, time.time(), tokens, exit_code, note,
                 json.dumps(dict(result or {}), sort_keys=True), self.wf.id, name, round_),
            )

    def phase(self, name: str, round_: int = 1) -> Phase:
        """Run phase ``name`` of round ``round_`` unless it already passed (resume)."""
        if not self.definition.has(name):
            return Phase(name, round_, "skipped", None, 0, 0, 0, 0, "not in the definition", {})
        previous = self.done(name, round_)
        if previous is not None:
            self.say(f"  {name:<10} round {round_}: passed before ({previous.note})")
            return previous
        agent = self.definition.agent(name) if name in AGENT_PHASES else None
        self._start_phase(name, round_, agent)
        _set_workflow(self.repo, self.wf.id, round=round_)
        start = time.monotonic()
        started = time.time()
        try:
            status, tokens, note, result = getattr(self, "_" + name.split("_", 1)[1])(round_)
        except budget.BudgetExceeded as e:
            spent = budget.tokens_of(self.repo, self.wf.id, name, started)
            self._end_phase(name, round_, "escalated", tokens=spent, exit_code=1, note=e.reason)
            raise
        except OssaError as e:
            self._end_phase(name, round_, "failed", exit_code=e.code, note=e.message)
            raise PhaseFailed(f"{name}: {e.message}") from None
        except BaseException:
            self._end_phase(name, round_, "interrupted", exit_code=130, note="interrupted")
            raise
        self._end_phase(name, round_, status, tokens=tokens, note=note, result=result,
                        exit_code=0 if status == "passed" else 1)
        tok = f"{tokens:>6,} tokens" if tokens else " " * 13
        secs = time.monotonic() - start
        self.say(f"  {name:<10} round {round_}: {status:<7} {tok}  {secs:5.1f} s  {note}")
        return Phase(name, round_, status, agent, 0, 0, tokens, 0, note, result or {})

    def call(self, phase: str, prompt_context: Mapping[str, str]) -> agents.CallResult:
        agent = self.definition.agent(phase)
        assert agent is not None
        spec = self.specs.get(agent)
        if spec is None:
            raise OssaError(f"no agent spec '{agent}' in {agents.workspace(self.worktree)}/agents/ "
                            '(run `ossa-hooks spawn "TASK"`)')
        template = spec.prompt or "{task}"
        prompt = agents.render_prompt(template, prompt_context)
        agent_id = self.wf.agents.get(agent)
        if agent_id is None:
            agent_id = agents.spawn(self.repo, spec, self.worktree, self.wf.id)
        return agents.call(self.repo, self.config, self.task, spec, agent_id, prompt,
                           worktree=self.worktree, phase=phase, workflow=self.wf.id)

    def context(self, round_: int) -> dict[str, str]:
        plan = _read(self.data / "plan.md")
        return {
            "task": self.wf.description,
            "task_name": self.task.name,
            "branch": self.task.branch,
            "base": self.wf.base_commit[:12],
            "round": str(round_),
            "plan": plan or "(no plan)",
            "findings": "",
            "diff": "",
            "repo_map": "",
            "memories": "",
        }

    # -- the six phases: each returns (status, tokens, note, result) --

    def _plan(self, round_: int) -> tuple[str, int, str, dict[str, Any]]:
        ctx = self.context(round_)
        ctx["repo_map"] = repo_map(self.worktree, int(self.config.get("workflow.repo_map_files")))
        found = memory.search(self.repo, self.wf.description,
                              int(self.config.get("workflow.memories")),
                              exclude_branch=self.task.branch)
        ctx["memories"] = memory.format_for_prompt(found)
        plan_file = self.data / "plan.md"
        before = _stamp(plan_file)
        res = self.call("1_plan", ctx)
        if _stamp(plan_file) == before or not _read(plan_file).strip():
            plan_file.parent.mkdir(parents=True, exist_ok=True)
            plan_file.write_text(res.text.strip() + "\n", encoding="utf-8")
        return "passed", res.usage.total, "data/plan.md", {"memories": len(found)}

    def _execute(self, round_: int) -> tuple[str, int, str, dict[str, Any]]:
        ctx = self.context(round_)
        if round_ > 1:
            prev = self.done("3_review", round_ - 1)
            findings = list(prev.result.get("findings", [])) if prev else []
            ctx["findings"] = ("The reviewer requested changes; address every finding:\n"
                               + "\n".join(f"- {f}" for f in findings))
        res = self.call("2_execute", ctx)
        sha, files = commit_changes(self.worktree, f"{self.task.name}: {self.wf.description}"
                                    f"\n\nCoder round {round_} of workflow {self.wf.id}.")
        if sha is None:
            return "passed", res.usage.total, "no changes to commit", {"commit": None}
        budget.set_tip(self.repo, self.task.branch, sha)
        return ("passed", res.usage.total, f"committed {sha[:10]} ({len(files)} file(s))",
                {"commit": sha, "files": files})

    def _review(self, round_: int) -> tuple[str, int, str, dict[str, Any]]:
        ctx = self.context(round_)
        ctx["diff"] = git.out(["diff", "--no-color", self.wf.base_commit, "HEAD", "--",
                               ".", f":(exclude){agents.WORKSPACE}"], self.worktree) or "(empty)"
        res = self.call("3_review", ctx)
        verdict, findings = parse_review(res.text)
        review_file = self.data / "review.md"
        head = "" if round_ > 1 and review_file.exists() else "# Review\n"
        text = _read(review_file) if round_ > 1 else ""
        body = "\n".join(f"- {f}" for f in findings) or "(no findings)"
        review_file.write_text(f"{text}{head}\n## Round {round_}: {verdict}\n\n{body}\n",
                               encoding="utf-8")
        note = f"{verdict} ({len(findings)} finding(s))"
        return "passed", res.usage.total, note, {"verdict": verdict, "findings": findings}

    def _judge(self, round_: int) -> tuple[str, int, str, dict[str, Any]]:
        from ossa_hooks.judge import gate as judge_mod
        from ossa_hooks.judge.trusted import trusted_for
        repo = git.repo_paths(self.worktree)
        # The agent's own worktree configuration never judges its work: its base's does.
        ref = git.run(["symbolic-ref", "-q", "HEAD"], self.worktree, check=False)
        trusted = trusted_for(repo, self.config, ref.stdout.decode().strip(),
                              git.out(["rev-parse", "HEAD"], self.worktree))
        verdict = judge_mod.judge(repo, self.config, rev="HEAD", quiet=True, trusted=trusted)
        checks = [{"name": r.name, "status": r.status, "seconds": round(r.seconds, 2),
                   "log": r.log, "note": r.note} for r in verdict.results]
        failed = [r.name for r in verdict.results if r.status not in ("passed", "skipped")]
        note = "passed" + (" (cached)" if verdict.cached else "") if verdict.passed else (
            f"failed: {', '.join(failed)}")
        if verdict.review:
            note += "; needs human review: " + "; ".join(verdict.review)
        return ("passed" if verdict.passed else "failed", 0, note,
                {"passed": verdict.passed, "tree": verdict.tree, "checks": checks,
                 "needs_review": list(verdict.review)})

    def _learn(self, round_: int) -> tuple[str, int, str, dict[str, Any]]:
        files = git.split_z(git.run(["diff", "-z", "--name-only", self.wf.base_commit, "HEAD"],
                                    self.worktree).stdout)
        review = self.last_review()
        judged = self.last("4_judge")
        entries = {
            "task": self.wf.description,
            "plan": _read(self.data / "plan.md").strip()[:2000],
            "review": (f"verdict {review.result.get('verdict')}: "
                       + "; ".join(review.result.get("findings", []))) if review else "",
            "judge": judged.note if judged else "",
            "files": " ".join(files),
        }
        for kind, content in entries.items():
            if content:
                memory.add(self.repo, task=self.task.name, branch=self.task.branch, kind=kind,
                           content=content, workflow=self.wf.id)
        return "passed", 0, f"{sum(1 for c in entries.values() if c)} memories", {"files": files}

    def _govern(self, round_: int) -> tuple[str, int, str, dict[str, Any]]:
        tu = budget.task_usage(self.repo, self.task)
        within = within_budget(tu)
        criteria = self.criteria(within)
        final = "succeeded" if all(ok for _, ok, _ in criteria) else "failed"
        path = compliance_path(self)
        note = f"{'within' if within else 'over'} budget ({tu.used:,} / {tu.budget:,}); report " \
               f"{os.path.relpath(path, self.worktree)}"
        # The report itself is written once this phase is recorded (it lists every phase).
        return ("passed" if within else "failed", 0, note,
                {"final": final, "criteria": [[n, ok, why] for n, ok, why in criteria],
                 "report": str(path)})

    # -- results --

    def last(self, name: str) -> Phase | None:
        rows = [p for p in phases_of(self.repo, self.wf.id) if p.name == name
                and p.status in ("passed", "failed")]
        return max(rows, key=lambda p: p.round) if rows else None

    def last_review(self) -> Phase | None:
        return self.last("3_review")

    def criteria(self, within: bool) -> list[tuple[str, bool, str]]:
        out = []
        want = self.definition.success
        if want.get("review_approved") and self.definition.has("3_review"):
            review = self.last_review()
            verdict = str(review.result.get("verdict")) if review else "none"
            out.append(("review_approved", verdict == APPROVE, f"last verdict: {verdict}"))
        if want.get("judge_passed") and self.definition.has("4_judge"):
            judged = self.last("4_judge")
            ok = judged is not None and judged.status == "passed"
            out.append(("judge_passed", ok, judged.note if judged else "not judged"))
        if want.get("within_budget"):
            out.append(("within_budget", within, "every agent and the task within budget"
                        if within else "a budget was overrun"))
        return out


def within_budget(tu: budget.TaskUsage) -> bool:
    if tu.budget and tu.used > tu.budget:
        return False
    return all(a.budget is None or a.used <= a.budget for a in tu.agents)


def parse_review(text: str) -> tuple[str, list[str]]:
    """The reviewer's verdict (``VERDICT: approve`` / ``VERDICT: request changes``, or a JSON
    object with ``verdict`` and ``findings``) and findings (``- `` lines). No verdict: changes
    are requested, with that as the finding."""
    doc = None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
    if isinstance(doc, dict) and "verdict" in doc:
        raw = str(doc["verdict"])
        findings = [str(f) for f in doc.get("findings", []) if str(f).strip()]
    else:
        m = re.search(r"verdict\s*[:=]\s*\**\s*(approved?|request(?:ed)?[ _-]?changes|"
                      r"changes[ _-]requested|reject(?:ed)?)", text, re.IGNORECASE)
        if m is None:
            return CHANGES, ["the reviewer gave no verdict (expected 'VERDICT: approve' or "
                             "'VERDICT: request changes')"]
        raw = m.group(1)
        findings = [line.strip()[2:].strip() for line in text.splitlines()
                    if line.strip().startswith(("- ", "* "))]
    verdict = APPROVE if raw.lower().startswith("approve") else CHANGES
    return verdict, findings


def repo_map(worktree: Path, limit: int) -> str:
    files = git.split_z(git.run(["ls-files", "-z"], worktree).stdout)
    files = [f for f in files if not f.startswith(agents.WORKSPACE + "/")]
    shown = files[:limit]
    more = f"\n(… and {len(files) - len(shown)} more files)" if len(files) > len(shown) else ""
    return "\n".join(shown) + more if shown else "(no tracked files yet)"


def commit_changes(worktree: Path, message: str) -> tuple[str | None, list[str]]:
    """Commit the coder's changes on the agent branch through the repository's hooks
    (pre-commit's secret scan included). The workspace and ``.env`` are never committed."""
    # Naming an ignored path in a pathspec (even to exclude it) is an error for `git add`, so
    # stage everything, then take back what must never be committed.
    git.run(["add", "-A", "--", "."], worktree)
    staged = git.split_z(git.run(["diff", "--cached", "-z", "--name-only"], worktree).stdout)
    private = [f for f in staged if f == ".env" or f.startswith(agents.WORKSPACE + "/")]
    if private:
        git.run(["reset", "-q", "--", *private], worktree)
        staged = [f for f in staged if f not in private]
    if not staged:
        return None, []
    proc = git.run(["commit", "-q", "-m", message], worktree, check=False)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip().splitlines()
        tail = " | ".join(detail[-4:]) if detail else f"exit {proc.returncode}"
        raise OssaError(f"the commit of the coder's changes was refused: {tail}", code=1)
    return git.out(["rev-parse", "HEAD"], worktree), staged


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


# --- the compliance report -----------------------------------------------------------------


def compliance_path(run: Runner) -> Path:
    return agents.workspace(run.worktree) / "metrics" / f"compliance-{run.wf.id}.md"


def write_compliance(run: Runner, final: str, criteria: list[tuple[str, bool, str]],
                     tu: budget.TaskUsage, reason: str = "") -> Path:
    """``metrics/compliance-ID.md`` and ``.json``: phases, review, judge, budgets, criteria."""
    phases = phases_of(run.repo, run.wf.id)
    head = git.out(["rev-parse", "HEAD"], run.worktree)
    doc = {
        "workflow": run.wf.id,
        "task": run.task.name,
        "description": run.wf.description,
        "branch": run.task.branch,
        "base_commit": run.wf.base_commit,
        "head": head,
        "status": final,
        "reason": reason,
        "phases": [p.as_json() for p in phases],
        "criteria": [{"name": n, "passed": ok, "detail": why} for n, ok, why in criteria],
        "budget": tu.as_json(),
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    folder = agents.workspace(run.worktree) / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"compliance-{run.wf.id}.json").write_text(json.dumps(doc, indent=2) + "\n",
                                                         encoding="utf-8")
    lines = [
        f"# Compliance report: workflow {run.wf.id}",
        "",
        f"- task: {run.task.name}: {run.wf.description}",
        f"- branch: `{run.task.branch}` ({run.wf.base_commit[:10]}..{head[:10]})",
        f"- status: **{final}**" + (f" ({reason})" if reason else ""),
        "",
        "## Phases",
        "",
        "| phase | round | status | agent | tokens | note |",
        "| --- | ---: | --- | --- | ---: | --- |",
    ]
    for p in phases:
        note = p.note.replace("|", "\\|")
        lines.append(f"| {p.name} | {p.round} | {p.status} | {p.agent or ''} | {p.tokens:,} | "
                     f"{note} |")
    lines += ["", "## Success criteria", ""]
    lines += [f"- [{'x' if ok else ' '}] {n}: {why}" for n, ok, why in criteria]
    lines += ["", "## Token budget", "", budget.format_md([tu]), ""]
    path = compliance_path(run)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --- entry points ------------------------------------------------------------------------------


def _load_specs(worktree: Path, definition: Definition) -> dict[str, agents.AgentSpec]:
    specs = agents.load_workspace_specs(worktree)
    for phase, agent in definition.phases:
        if phase in AGENT_PHASES and agent not in specs:
            raise OssaError(f"{agents.workspace(worktree)}/agents/{agent}.yaml: missing; the "
                            f"workflow's {phase} needs it (run `ossa-hooks spawn \"TASK\"`)")
    return specs


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


def prepare(repo: RepoPaths, config: Config, worktree: Path, definition_path: Path | None,
            resume: bool, workflow_id: int | None = None, out: Any = sys.stdout) -> Runner:
    """A runner for a new workflow, or for the one to resume."""
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
    path = Path(wf.definition) if wf is not None else (definition_path or
                                                        worktree / DEFAULT_DEFINITION)
    definition = load_definition(path)
    specs = _load_specs(worktree, definition)
    task = agents.ensure_task(repo, config, worktree, specs)
    if definition.budget is not None:
        budget.register_task(repo, task, definition.budget, agents.budgets_of(specs, config))
    if wf is None:
        now = time.time()
        with _db(repo) as con:
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
                ids[agent] = agents.spawn(repo, specs[agent], worktree, new_id)
        _set_workflow(repo, new_id, agents=json.dumps(ids))
        wf = get(repo, new_id)
    else:
        _set_workflow(repo, wf.id, status="running", pid=os.getpid(), ended=None, reason="",
                      exit_code=None)
        wf = get(repo, wf.id)
    return Runner(repo, config, worktree, definition, wf, specs, task, out)


def drive(run: Runner, only: str | None = None) -> int:
    """Run the loop (or one phase); set the workflow's final status; return the exit code."""
    wf = run.wf
    max_rounds = run.definition.max_review_rounds
    if max_rounds is None:
        max_rounds = int(run.config.get("workflow.max_review_rounds"))
    run.say(f"workflow {wf.id}: {wf.description} ({run.task.branch})")
    try:
        if only is not None:
            p = run.phase(only, wf.round)
            code = 0 if p.status in ("passed", "skipped") else 1
            # One phase alone leaves the workflow paused: `workflow run --resume` goes on.
            _set_workflow(run.repo, wf.id, status="paused" if code == 0 else "failed",
                          pid=None, exit_code=code)
            return code
        run.phase("1_plan")
        round_ = 1
        while True:
            run.phase("2_execute", round_)
            review = run.phase("3_review", round_)
            if review.status == "skipped" or review.result.get("verdict") == APPROVE:
                break
            if round_ > max_rounds:
                run.say(f"  changes still requested after {max_rounds} review round(s)")
                break
            round_ += 1
        run.phase("4_judge", round_)
        run.phase("5_learn", round_)
        govern = run.phase("6_govern", round_)
    except budget.BudgetExceeded as e:
        _finish_escalated(run, e.reason)
        return 1
    except PhaseFailed as e:
        _set_workflow(run.repo, wf.id, status="failed", reason=e.message, ended=time.time(),
                      pid=None, exit_code=1)
        run.say(f"workflow {wf.id}: failed: {e.message}")
        run.say(f"  fix it, then: ossa-hooks workflow run --resume   (log: "
                f"{agents.workspace(run.worktree) / 'logs'})")
        _audit(run, "failed", e.message)
        return 1
    except BaseException:
        _set_workflow(run.repo, wf.id, status="interrupted", reason="interrupted", pid=None,
                      exit_code=130)
        raise
    final = str(govern.result.get("final", "succeeded" if govern.status != "failed" else "failed"))
    failed = [c for c in govern.result.get("criteria", []) if not c[1]]
    reason = "; ".join(f"{c[0]}: {c[2]}" for c in failed)
    code = 0 if final == "succeeded" else 1
    _set_workflow(run.repo, wf.id, status=final, reason=reason, ended=time.time(), pid=None,
                  exit_code=code)
    tu = budget.task_usage(run.repo, run.task)
    if govern.status != "skipped":
        criteria = [(str(c[0]), bool(c[1]), str(c[2])) for c in govern.result.get("criteria", [])]
        write_compliance(run, final, criteria, tu, reason)
    run.say(f"workflow {wf.id}: {final}" + (f" ({reason})" if reason else "")
            + f"; tokens {tu.used:,} / {tu.budget:,}")
    _audit(run, final, reason)
    return code


def _finish_escalated(run: Runner, reason: str) -> None:
    _set_workflow(run.repo, run.wf.id, status="escalated", reason=reason, ended=time.time(),
                  pid=None, exit_code=1)
    run.say(f"workflow {run.wf.id}: escalated: {reason}")
    tu = budget.task_usage(run.repo, run.task)
    try:
        path = write_compliance(run, "escalated", [("within_budget", False, reason)], tu, reason)
        run.say(f"  compliance report: {os.path.relpath(path, run.worktree)}")
    except OssaError:
        pass
    budget.escalate(run.repo, run.config, run.task, reason, run.wf.id)
    _audit(run, "escalated", reason)


def _audit(run: Runner, status: str, reason: str) -> None:
    from ossa_hooks import audit

    audit.record(run.repo, "workflow", run.definition.name,
                 0 if status == "succeeded" else 1, time.time() - run.wf.started,
                 {"workflow": run.wf.id, "task": run.task.name, "branch": run.task.branch,
                  "reason": reason}, outcome=status)


def run_workflow(cwd: Path | None = None, *, resume: bool = False,
                 definition: Path | None = None, only: str | None = None,
                 workflow_id: int | None = None) -> int:
    from ossa_hooks import config as config_mod

    repo = git.repo_paths(cwd)
    worktree = repo.worktree
    cfg = config_mod.load(worktree)
    runner = prepare(repo, cfg, worktree, definition, resume, workflow_id)
    return drive(runner, only)


# --- status and logs ---------------------------------------------------------------------------


def status_json(repo: RepoPaths, wf: Workflow, show_budget: bool) -> dict[str, Any]:
    doc = wf.as_json()
    doc["phases"] = [p.as_json() for p in phases_of(repo, wf.id)]
    if show_budget:
        tu = budget.usage(repo, [wf.branch])
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
        lines.append(f"  {p.name:<10} r{p.round}  {p.status:<11} {tok}  {secs}  {p.note}")
    if wf.shown_status in ("crashed", "interrupted", "failed", "escalated", "paused"):
        lines.append("  continue with: ossa-hooks workflow run --resume (in that worktree)")
    if show_budget:
        tasks = budget.usage(repo, [wf.branch])
        lines.append(budget.format_text(tasks) if tasks else "  no agent calls recorded")
    return "\n".join(lines)


def log_files(wf: Workflow) -> list[Path]:
    folder = Path(wf.worktree) / agents.WORKSPACE / "logs"
    return sorted(folder.glob("agent-*.log")) if folder.is_dir() else []


def follow_logs(repo: RepoPaths, wf: Workflow, follow: bool, out: Any = sys.stdout,
                poll: float = 0.2) -> None:
    """Print the agents' logs; with ``follow``, keep printing new lines until the workflow
    stops running."""
    offsets: dict[Path, int] = {}
    while True:
        for path in log_files(wf):
            try:
                with path.open("rb") as f:
                    f.seek(offsets.get(path, 0))
                    chunk = f.read()
                    offsets[path] = f.tell()
            except OSError:
                continue
            if chunk:
                name = path.stem.removeprefix("agent-")
                for line in chunk.decode("utf-8", "replace").splitlines():
                    print(f"{name}| {line}", file=out, flush=True)
        if not follow:
            return
        current = get(repo, wf.id)
        if current.shown_status != "running":
            if not any(p.stat().st_size > offsets.get(p, 0) for p in log_files(wf)):
                return
        time.sleep(poll)
