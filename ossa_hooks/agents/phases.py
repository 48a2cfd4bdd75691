"""The six phases of the loop and the driver that runs them in order.

Each phase either passes, fails with its reason, escalates (a budget) or is interrupted; a
phase that runs makes every later phase run again (its verdict is stale), so the phase table,
the workflow status, the compliance report and the exit code always agree.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.agents import budget as budget
from ossa_hooks.agents import memory as memory
from ossa_hooks.agents import record as record
from ossa_hooks.agents import registry as registry
from ossa_hooks.agents import report as report
from ossa_hooks.agents import runner as runner
from ossa_hooks.agents.compact import compact_diff
from ossa_hooks.agents.specs import WORKSPACE
from ossa_hooks.agents.specs import AgentSpec
from ossa_hooks.agents.specs import render_prompt
from ossa_hooks.agents.specs import workspace
from ossa_hooks.agents.workflow import AGENT_PHASES
from ossa_hooks.agents.workflow import FINAL
from ossa_hooks.agents.workflow import Definition
from ossa_hooks.agents.workflow import Phase
from ossa_hooks.agents.workflow import Workflow
from ossa_hooks.agents.workflow import connect
from ossa_hooks.agents.workflow import phase_of
from ossa_hooks.agents.workflow import set_workflow
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

APPROVE = "approve"
CHANGES = "request changes"

Outcome = tuple[str, int, str, dict[str, Any]]  # status, tokens, note, result


class PhaseFailed(OssaError):
    """A phase could not do its job (agent failed, nothing changed, commit refused...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=1)


def manifest_agents(definition: Definition) -> dict[str, AgentSpec]:
    """Agent specs an OSSA Workflow manifest brought with it (its steps' ``ref``)."""
    from ossa_hooks.agents import manifest

    return manifest.agents_of(definition)


@dataclass(slots=True)
class Runner:
    """One workflow being driven in its task worktree."""

    repo: RepoPaths
    config: Config
    worktree: Path
    definition: Definition
    wf: Workflow
    specs: dict[str, AgentSpec]
    task: budget.TaskRef
    out: Any = sys.stdout
    ran: list[str] = field(default_factory=list)  # phases run (not reused) by this process

    @property
    def data(self) -> Path:
        return workspace(self.worktree) / "data"

    def say(self, text: str) -> None:
        try:
            print(text, file=self.out, flush=True)
        except OSError:
            pass  # the terminal went away (SIGHUP): the record still has it

    def latest(self, name: str, round_: int | None = None, statuses: tuple[str, ...] = ("passed",)
               ) -> Phase | None:
        """The newest run of phase ``name`` (of ``round_``) with one of ``statuses``."""
        sql = "SELECT * FROM phase_runs WHERE workflow = ? AND name = ?"
        params: list[Any] = [self.wf.id, name]
        if round_ is not None:
            sql += " AND round = ?"
            params.append(round_)
        sql += f" AND status IN ({', '.join('?' for _ in statuses)}) ORDER BY id DESC LIMIT 1"
        with connect(self.repo) as con:
            row = con.execute(sql, [*params, *statuses]).fetchone()
        return None if row is None else phase_of(row)

    def _start(self, name: str, round_: int, agent: str | None) -> int:
        with connect(self.repo) as con:
            cur = con.execute("INSERT INTO phase_runs (workflow, name, round, status, agent,"
                              " started) VALUES (?, ?, ?, 'running', ?, ?)",
                              (self.wf.id, name, round_, agent, time.time()))
            return int(cur.lastrowid or 0)

    def _end(self, run_id: int, status: str, *, tokens: int = 0, cost: float | None = None,
             exit_code: int = 0, note: str = "", result: Mapping[str, Any] | None = None) -> None:
        with connect(self.repo) as con:
            con.execute("UPDATE phase_runs SET status = ?, ended = ?, tokens = ?, cost_usd = ?,"
                        " exit_code = ?, note = ?, result = ? WHERE id = ?",
                        (status, time.time(), tokens, cost, exit_code, note,
                         json.dumps(dict(result or {}), sort_keys=True), run_id))

    def phase(self, name: str, round_: int = 1, *, again: bool = False) -> Phase:
        """Run phase ``name`` of round ``round_``, unless it passed before and nothing ran since
        in this process (resume); ``again`` runs it in any case."""
        if not self.definition.has(name):
            return Phase(name, round_, "skipped", None, 0, 0, 0, 0, "not in the definition", {})
        previous = None if (again or self.ran) else self.latest(name, round_)
        if previous is not None:
            self.say(f"  {name:<10} round {round_}: passed before ({previous.note})")
            return previous
        self.ran.append(name)
        agent = self.definition.agent(name) if name in AGENT_PHASES else None
        run_id = self._start(name, round_, agent)
        set_workflow(self.repo, self.wf.id, round=round_)
        start = time.monotonic()
        started = time.time()
        try:
            status, tokens, note, result = getattr(self, "_" + name.split("_", 1)[1])(round_)
        except budget.BudgetExceeded as e:
            spent, cost = budget.spent_since(self.repo, self.wf.id, name, started)
            self._end(run_id, "escalated", tokens=spent, cost=cost, exit_code=1, note=e.reason)
            self.say(f"  {name:<10} round {round_}: escalated {spent:>6,} tokens  "
                     f"{time.monotonic() - start:5.1f} s  {e.reason}")
            raise
        except OssaError as e:
            spent, cost = budget.spent_since(self.repo, self.wf.id, name, started)
            self._end(run_id, "failed", tokens=spent, cost=cost, exit_code=e.code,
                      note=e.message)
            self.say(f"  {name:<10} round {round_}: failed  {spent:>6,} tokens  "
                     f"{time.monotonic() - start:5.1f} s")
            raise PhaseFailed(f"{name}: {e.message}") from None
        except BaseException as e:
            spent, cost = budget.spent_since(self.repo, self.wf.id, name, started)
            what = e.args[0] if isinstance(e, runner.Interrupted) else "SIGINT"
            self._end(run_id, "interrupted", tokens=spent, cost=cost, exit_code=130,
                      note=f"interrupted ({what})")
            raise
        _, cost = budget.spent_since(self.repo, self.wf.id, name, started)
        self._end(run_id, status, tokens=tokens, cost=cost, note=note, result=result,
                  exit_code=0 if status == "passed" else 1)
        tok = f"{tokens:>6,} tokens" if tokens else " " * 13
        secs = time.monotonic() - start
        self.say(f"  {name:<10} round {round_}: {status:<7} {tok}  {secs:5.1f} s  {note}")
        return Phase(name, round_, status, agent, started, time.time(), tokens, 0, note,
                     result or {}, cost, run_id)

    def call(self, phase: str, context: Mapping[str, str],
             compact_key: str | None = None) -> runner.CallResult:
        agent = self.definition.agent(phase)
        assert agent is not None
        spec = self.specs.get(agent)
        if spec is None:
            raise OssaError(f"no agent spec '{agent}' in {workspace(self.worktree)}/agents/ "
                            '(run `ossa-hooks spawn "TASK"`)')
        template = spec.prompt or "{task}"
        prompt = render_prompt(template, context)
        agent_id = self.wf.agents.get(agent) or registry.spawn(self.repo, spec, self.worktree,
                                                              self.wf.id)
        squeeze = None
        if compact_key is not None:
            encoding = str(self.config.get("budget.encoding"))
            rest = budget.count_tokens(render_prompt(template, {**context, compact_key: ""}),
                                       encoding)

            def squeeze(tokens: int) -> str:
                cut = compact_diff(self.worktree, self.wf.base_commit, context[compact_key],
                                   max(tokens - rest, 0), encoding, self.wf.description)
                return render_prompt(template, {**context, compact_key: cut})

        return runner.call(self.repo, self.config, self.task, spec, agent_id, prompt,
                           worktree=self.worktree, phase=phase, workflow=self.wf.id,
                           compact=squeeze)

    def context(self, round_: int) -> dict[str, str]:
        return {
            "task": self.wf.description, "task_name": self.task.name,
            "branch": self.task.branch, "base": self.wf.base_commit[:12], "round": str(round_),
            "plan": _read(self.data / "plan.md") or "(no plan)", "findings": "", "diff": "",
            "repo_map": "", "memories": "",
        }

    # -- the six phases --

    def _plan(self, round_: int) -> Outcome:
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
            if not res.text.strip():
                raise OssaError("the researcher gave no plan (empty answer)", code=1)
            plan_file.parent.mkdir(parents=True, exist_ok=True)
            plan_file.write_text(res.text.strip() + "\n", encoding="utf-8")
        return "passed", res.usage.total, "data/plan.md", {"memories": len(found)}

    def _execute(self, round_: int) -> Outcome:
        ctx = self.context(round_)
        if round_ > 1:
            prev = self.latest("3_review", round_ - 1)
            findings = list(prev.result.get("findings", [])) if prev else []
            ctx["findings"] = ("The reviewer requested changes; address every finding:\n"
                               + "\n".join(f"- {f}" for f in findings))
        from ossa_hooks.agents import sendback  # notes of `worktree review --send-back`
        notes = sendback.pending(self.worktree)
        if notes:
            ctx["findings"] = "\n\n".join(filter(None, (ctx["findings"],
                                                         sendback.as_prompt(notes))))
        head_before = git.out(["rev-parse", "HEAD"], self.worktree)
        res = self.call("2_execute", ctx)
        sendback.done(self.worktree, notes)
        sha, files = commit_changes(self.worktree, f"{self.task.name}: {self.wf.description}"
                                    f"\n\nCoder round {round_} of workflow {self.wf.id}.")
        if sha is None:
            # A coder that committed its work itself (on its own branch, through the hooks)
            # changed something too: the commits it made since the call began count.
            head = git.out(["rev-parse", "HEAD"], self.worktree)
            if head != head_before:
                sha = head
                files = git.split_z(git.run(["diff", "-z", "--name-only", head_before, head],
                                            self.worktree).stdout)
        if sha is None:
            raise OssaError("the coder changed nothing (no file differs after its call; was it "
                            f"allowed to edit? see its log: {res.log})", code=1)
        budget.set_tip(self.repo, self.task.branch, sha)
        return ("passed", res.usage.total, f"committed {sha[:10]} ({len(files)} file(s))",
                {"commit": sha, "files": files})

    def _review(self, round_: int) -> Outcome:
        ctx = self.context(round_)
        ctx["diff"] = git.out(["diff", "--no-color", self.wf.base_commit, "HEAD", "--",
                               ".", f":(exclude){WORKSPACE}"], self.worktree) or "(empty)"
        res = self.call("3_review", ctx, compact_key="diff")
        verdict, findings = parse_review(res.text)
        review_file = self.data / "review.md"
        head = "" if round_ > 1 and review_file.exists() else "# Review\n"
        text = _read(review_file) if round_ > 1 else ""
        body = "\n".join(f"- {f}" for f in findings) or "(no findings)"
        review_file.parent.mkdir(parents=True, exist_ok=True)
        review_file.write_text(f"{text}{head}\n## Round {round_}: {verdict}\n\n{body}\n",
                               encoding="utf-8")
        record.add(self.repo, branch=self.task.branch, task=self.task.name, kind="verdict",
                   workflow=self.wf.id, agent=self.definition.agent("3_review") or "",
                   phase="3_review", text=f"{verdict}\n" + body,
                   detail={"round": round_, "findings": len(findings)})
        note = f"{verdict} ({len(findings)} finding(s))"
        return "passed", res.usage.total, note, {"verdict": verdict, "findings": findings}

    def _judge(self, round_: int) -> Outcome:
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
        record.add(self.repo, branch=self.task.branch, task=self.task.name, kind="judge",
                   workflow=self.wf.id, phase="4_judge", text=note,
                   detail={"tree": verdict.tree, "checks": checks})
        return ("passed" if verdict.passed else "failed", 0, note,
                {"passed": verdict.passed, "tree": verdict.tree, "checks": checks,
                 "needs_review": list(verdict.review)})

    def _learn(self, round_: int) -> Outcome:
        files = git.split_z(git.run(["diff", "-z", "--name-only", self.wf.base_commit, "HEAD"],
                                    self.worktree).stdout)
        review = self.last("3_review")
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

    def _govern(self, round_: int) -> Outcome:
        tu = budget.workflow_usage(self.repo, self.task, self.wf.id)
        within = within_budget(tu)
        criteria = self.criteria(within)
        failed = [f"{n}: {why}" for n, ok, why in criteria if not ok]
        final = "failed" if failed else "succeeded"
        note = (f"{final}: {'within' if within else 'over'} budget ({tu.used:,} / {tu.budget:,})"
                + (f"; {'; '.join(failed)}" if failed else ""))
        return ("passed" if final == "succeeded" else "failed", 0, note,
                {"final": final, "criteria": [[n, ok, why] for n, ok, why in criteria]})

    # -- results --

    def last(self, name: str) -> Phase | None:
        return self.latest(name, statuses=("passed", "failed"))

    def criteria(self, within: bool) -> list[tuple[str, bool, str]]:
        out = []
        want = self.definition.success
        if want.get("review_approved") and self.definition.has("3_review"):
            review = self.last("3_review")
            verdict = str(review.result.get("verdict")) if review else "none"
            out.append(("review_approved", verdict == APPROVE, f"last verdict: {verdict}"))
        if want.get("judge_passed") and self.definition.has("4_judge"):
            judged = self.last("4_judge")
            ok = judged is not None and judged.status == "passed"
            out.append(("judge_passed", ok, judged.note if judged else "not judged"))
        if want.get("within_budget"):
            tu = budget.workflow_usage(self.repo, self.task, self.wf.id)
            esc = (f"; {len(tu.escalations)} escalation(s) on record, budget raised since"
                   if tu.escalations else "")
            out.append(("within_budget", within, ("every agent and the task within budget"
                        if within else "a budget was overrun") + esc))
        return out


def within_budget(tu: budget.TaskUsage) -> bool:
    """Every agent and the task within their budgets as they are now (an escalation stays on
    record, and in the reports, after a budget is raised)."""
    if tu.budget and tu.used > tu.budget:
        return False
    return all(a.budget is None or a.used <= a.budget for a in tu.agents)


# --- driving -----------------------------------------------------------------------------------


def drive(run: Runner, only: str | None = None) -> int:
    """Run the loop (or one phase); set the workflow's final status; return the exit code."""
    wf = run.wf
    max_rounds = run.definition.max_review_rounds
    if max_rounds is None:
        max_rounds = int(run.config.get("workflow.max_review_rounds"))
    run.say(f"workflow {wf.id}: {wf.description} ({run.task.branch})")
    try:
        if only is not None:
            return _one_phase(run, only)
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
        return _finish(run, "escalated", e.reason)
    except PhaseFailed as e:
        code = _finish(run, "failed", e.message)
        run.say(f"  fix it, then: ossa-hooks workflow run --resume   (record: "
                f"ossa-hooks workflow logs --workflow {wf.id})")
        return code
    except BaseException as e:
        what = e.args[0] if isinstance(e, runner.Interrupted) else "SIGINT"
        set_workflow(run.repo, wf.id, status="interrupted", reason=f"interrupted ({what})",
                     pid=None, exit_code=130, ended=time.time())
        raise
    return _finish_govern(run, govern)


def _one_phase(run: Runner, name: str) -> int:
    """``workflow execute phase``: one phase, then the verdict again if the workflow had one
    (a finished workflow stays finished, with a verdict that counts the new run)."""
    had_verdict = run.wf.status in FINAL or run.latest("6_govern", statuses=("passed", "failed"))
    p = run.phase(name, run.wf.round, again=True)
    if had_verdict and name != "6_govern" and run.definition.has("6_govern"):
        return _finish_govern(run, run.phase("6_govern", run.wf.round, again=True))
    if name == "6_govern":
        return _finish_govern(run, p)
    code = 0 if p.status in ("passed", "skipped") else 1
    set_workflow(run.repo, run.wf.id, status="paused" if code == 0 else "failed", pid=None,
                 exit_code=code, reason="" if code == 0 else f"{name}: {p.note}")
    return code


def _finish_govern(run: Runner, govern: Phase) -> int:
    if govern.status == "skipped":
        return _finish(run, "succeeded", "", criteria=run.criteria(
            within_budget(budget.workflow_usage(run.repo, run.task, run.wf.id))))
    criteria = [(str(c[0]), bool(c[1]), str(c[2])) for c in govern.result.get("criteria", [])]
    final = str(govern.result.get("final", "failed"))
    reason = "; ".join(f"{n}: {why}" for n, ok, why in criteria if not ok)
    return _finish(run, final, reason, criteria=criteria)


def _finish(run: Runner, final: str, reason: str,
            criteria: list[tuple[str, bool, str]] | None = None) -> int:
    """Set the final status, write the compliance report, say it, audit it: one place, so
    they agree."""
    code = 0 if final == "succeeded" else 1
    set_workflow(run.repo, run.wf.id, status=final, reason=reason, ended=time.time(), pid=None,
                 exit_code=code)
    tu = budget.workflow_usage(run.repo, run.task, run.wf.id)
    if criteria is None:
        criteria = run.criteria(within_budget(tu))
        if final == "escalated":
            criteria = [c for c in criteria if c[0] != "within_budget"]
            criteria.append(("within_budget", False, reason))
        criteria.append(("phases_completed", False, reason))
    path = report.write_compliance(run.repo, run.worktree, run.wf.id, run.task, final,
                                   criteria, tu, reason)
    cost = f", ${tu.cost_usd:.4f}" if tu.cost_usd is not None else ""
    run.say(f"workflow {run.wf.id}: {final}" + (f": {reason}" if reason else "")
            + f"; tokens {tu.used:,} / {tu.budget:,}{cost}")
    run.say(f"  compliance report: {path}")
    if final == "escalated":
        budget.escalate(run.repo, run.config, run.task, reason, run.wf.id)
        record.add(run.repo, branch=run.task.branch, task=run.task.name, kind="escalation",
                   workflow=run.wf.id, text=reason)
    _audit(run, final, reason)
    return code


def _audit(run: Runner, status: str, reason: str) -> None:
    from ossa_hooks import audit

    audit.record(run.repo, "workflow", run.definition.name,
                 0 if status == "succeeded" else 1, time.time() - run.wf.started,
                 {"workflow": run.wf.id, "task": run.task.name, "branch": run.task.branch,
                  "reason": reason}, outcome=status)


# --- helpers -----------------------------------------------------------------------------------


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
    files = [f for f in files if not f.startswith(WORKSPACE + "/")]
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
    private = [f for f in staged if f == ".env" or f.startswith(WORKSPACE + "/")]
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


def relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)
