"""``worktree review AGENT TASK``: a person looks at an agent's work before it goes back: the
diff against the commit the task started from, the judge's verdict on the branch head, the
reviewer agent's verdict and findings, tokens and cost; then accepts it (merged back as
``worktree cleanup`` does), rejects it (the tip kept under a keep ref, the worktree removed as
``cleanup --no-merge`` does, the branch name freed) or sends it back with a note for the next
execute round.

It lives with the agents because it reads their record (workflow, ledger) beside the worktree
and the judge's cache, which only ``agents/`` may import together.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TextIO

from ossa_hooks import git
from ossa_hooks import identity
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree import status
from ossa_hooks.worktree.listing import AgentWorktree
from ossa_hooks.worktree.listing import agent_worktrees
from ossa_hooks.worktree.listing import changes
from ossa_hooks.worktree.records import _cwd
from ossa_hooks.worktree.records import _default_base
from ossa_hooks.worktree.records import agent_branch
from ossa_hooks.worktree.records import branch_exists
from ossa_hooks.worktree.records import validate_name

WORKSPACE = ".agents-workspace"
DECISIONS = ("accept", "reject", "send-back")
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Subject:
    """The work under review: the branch, where it started, and its worktree if any."""

    agent: str
    task: str
    branch: str
    head: str
    fork: str | None
    base: str
    ahead: int | None
    behind: int | None
    worktree: AgentWorktree | None

    def pathspec(self) -> list[str]:
        return ["--", ".", f":(exclude){WORKSPACE}"]


def subject(repo: RepoPaths, config: Config, agent: str, task: str) -> Subject:
    validate_name("AGENT", agent)
    validate_name("TASK", task)
    cwd = _cwd(repo)
    branch = agent_branch(agent, task)
    wt = next((w for w in agent_worktrees(repo, config) if w.branch == branch), None)
    if wt is None and not branch_exists(cwd, branch):
        raise OssaError(f"no agent worktree or branch {branch} (see: ossa-hooks worktree list)")
    head = git.out(["rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}"], cwd)
    base = (wt.base if wt is not None else None) or _default_base(repo, config)
    pos = status.position(cwd, head, base, wt.base_commit if wt is not None else None)
    return Subject(agent, task, branch, head, pos.fork, base, pos.ahead, pos.behind, wt)


# --- the facts ---------------------------------------------------------------------------------


def files_changed(cwd: Path, s: Subject) -> list[dict[str, Any]]:
    """Per file: path, lines added and deleted (None for a binary file)."""
    if s.fork is None:
        return []
    data = git.run(["diff", "--no-renames", "--numstat", "-z", s.fork, s.head, *s.pathspec()],
                   cwd).stdout
    found = []
    for item in git.split_z(data):
        added, deleted, path = item.split("\t", 2)
        found.append({"path": path, "added": None if added == "-" else int(added),
                      "deleted": None if deleted == "-" else int(deleted)})
    return found


def judge_facts(repo: RepoPaths, cwd: Path, s: Subject) -> dict[str, Any] | None:
    """The judge's last verdict on the branch head (None while it has no commit of its own)."""
    if not status.has_own_commits(cwd, s.head, s.fork):
        return None
    from ossa_hooks.judge import gate as judge

    v = judge.last_verdict(repo, s.head)
    return None if v is None else v.as_json()


def workflow_facts(repo: RepoPaths, s: Subject) -> dict[str, Any] | None:
    """The task's last workflow: status, phases, the reviewer's last verdict and findings."""
    from ossa_hooks.agents import workflow

    mine = [w for w in workflow.all_workflows(repo) if w.branch == s.branch]
    if not mine:
        return None
    wf = mine[-1]
    phases = workflow.phases_of(repo, wf.id)
    reviews = [p for p in phases if p.name == "3_review" and "verdict" in p.result]
    last = max(reviews, key=lambda p: p.round) if reviews else None
    return {
        "workflow": wf.id,
        "description": wf.description,
        "status": wf.shown_status,
        "reason": wf.reason,
        "review": None if last is None else {
            "round": last.round, "verdict": str(last.result.get("verdict")),
            "findings": [str(f) for f in last.result.get("findings", [])]},
        "phases": [{"name": p.name, "round": p.round, "status": p.status, "tokens": p.tokens,
                    "note": p.note} for p in phases],
    }


def budget_facts(repo: RepoPaths, s: Subject) -> dict[str, Any] | None:
    """Tokens (and cost, where the ledger records one) of the task, by agent."""
    from ossa_hooks.agents import budget

    found = budget.usage(repo, [s.branch])
    if not found:
        return None
    tu = found[0]
    return {"used": tu.used, "budget": tu.budget, "calls": tu.calls,
            "cost_usd": getattr(tu, "cost_usd", None),
            "agents": {a.name: {"used": a.used, "budget": a.budget,
                                "cost_usd": getattr(a, "cost_usd", None)} for a in tu.agents}}


def facts(repo: RepoPaths, config: Config, s: Subject) -> dict[str, Any]:
    """Everything ``review`` shows, as plain values (``--format json``)."""
    cwd = _cwd(repo)
    wt = s.worktree
    dirty = changes(wt.path) if wt is not None and not wt.missing else []
    return {
        "agent": s.agent,
        "task": s.task,
        "branch": s.branch,
        "head": s.head,
        "base": s.base,
        "base_commit": s.fork,
        "ahead": s.ahead,
        "behind": s.behind,
        "worktree": str(wt.path) if wt is not None else None,
        "uncommitted": len(dirty),
        "files": files_changed(cwd, s),
        "judge": judge_facts(repo, cwd, s),
        "workflow": workflow_facts(repo, s),
        "tokens": budget_facts(repo, s),
        "send_back_notes": _notes(wt),
    }


def _notes(wt: AgentWorktree | None) -> list[dict[str, str]]:
    from ossa_hooks.agents import sendback

    return [] if wt is None else [n.as_json() for n in sendback.pending(wt.path)]


def summary(f: dict[str, Any]) -> str:
    """The text before the diff: what changed, the judge, the reviewer, the tokens."""
    files = f["files"]
    added = sum(x["added"] or 0 for x in files)
    deleted = sum(x["deleted"] or 0 for x in files)
    since = f"{f['base']}@{f['base_commit'][:7]}" if f["base_commit"] else f["base"]
    lines = [f"review {f['branch']}: {f['ahead'] or 0} commit(s) on {since}, {len(files)}"
             f" file(s), +{added}/-{deleted}"
             + (f"; {f['behind']} new commit(s) on {f['base']} since" if f["behind"] else "")]
    if f["uncommitted"]:
        lines.append(f"note:     {f['uncommitted']} uncommitted path(s) in {f['worktree']} are"
                     " not part of this review (commit them first)")
    j = f["judge"]
    if j is None:
        lines.append("judge:    no verdict on this head (run: ossa-hooks judge --rev "
                     f"{f['branch']})")
    else:
        checks = ", ".join(f"{c['name']} {c['status']}" for c in j["checks"])
        lines.append(f"judge:    {'passed' if j['passed'] else 'FAILED'} ({checks})"
                     f" on {f['head'][:10]}")
    wf = f["workflow"]
    if wf is None:
        lines.append("reviewer: no workflow has run for this task")
    elif wf["review"] is None:
        lines.append(f"reviewer: none yet (workflow {wf['workflow']}: {wf['status']})")
    else:
        r = wf["review"]
        lines.append(f"reviewer: {r['verdict']}, {len(r['findings'])} finding(s) (workflow"
                     f" {wf['workflow']}, round {r['round']}; workflow {wf['status']})")
        lines.extend(f"  - {x}" for x in r["findings"])
    t = f["tokens"]
    if t is None:
        lines.append("tokens:   none recorded")
    else:
        per = ", ".join(f"{name} {a['used']:,}" for name, a in t["agents"].items() if a["used"])
        cost = (f"${t['cost_usd']:.4f}" if t["cost_usd"] is not None
                else "not reported by the agents")
        lines.append(f"tokens:   {t['used']:,} / {t['budget']:,}" + (f" ({per})" if per else "")
                     + f"; cost {cost}")
    for n in f["send_back_notes"]:
        lines.append(f"sent back {n['time']}: {n['note']} (not read by an execute round yet)")
    return "\n".join(lines)


def show_diff(repo: RepoPaths, s: Subject, out: TextIO, *, patch: bool, terminal: bool) -> None:
    """The stat, then the patch: through git's pager on a terminal, printed otherwise."""
    if s.fork is None or s.fork == s.head:
        print("(no commits of its own yet)", file=out)
        return
    cwd = _cwd(repo)
    stat = git.out(["diff", "--stat=100", s.fork, s.head, *s.pathspec()], cwd)
    print(stat or "(no changes outside .agents-workspace/)", file=out, flush=True)
    if not patch or not stat:
        return
    if terminal:
        env = git.no_git_env()
        if "GIT_PAGER" in os.environ:  # the person's own pager choice, not a hook variable
            env["GIT_PAGER"] = os.environ["GIT_PAGER"]
        subprocess.run(["git", "--paginate", "diff", "--color=auto", s.fork, s.head,
                        *s.pathspec()], cwd=cwd, env=env, check=False)
    else:
        print(git.out(["diff", "--no-color", s.fork, s.head, *s.pathspec()], cwd), file=out)


# --- the decision ------------------------------------------------------------------------------


def ask(read: Callable[[str], str]) -> tuple[str | None, str | None]:
    """Ask accept / reject / send back on a terminal; (None, None) to decide later."""
    while True:
        try:
            answer = read("accept (merge back), reject (park the branch, remove the worktree),"
                          " send back (with a note), or quit? [a/r/s/q] ").strip().lower()
        except EOFError:
            return None, None
        if answer in ("a", "accept"):
            return "accept", None
        if answer in ("r", "reject"):
            return "reject", None
        if answer in ("s", "send", "send back", "send-back"):
            try:
                note = read("note for the next execute round: ").strip()
            except EOFError:
                return None, None
            if note:
                return "send-back", note
            continue
        if answer in ("", "q", "quit"):
            return None, None


def decide(repo: RepoPaths, config: Config, repo_name: str | None, s: Subject, decision: str,
           note: str | None, echo: Echo) -> dict[str, Any]:
    """Carry out ``decision``; returns what was done (for JSON and the audit trail)."""
    who = identity.current()
    if who is not None:
        raise OssaError(f"{who.describe()} cannot {decision} a task: a review decision is a"
                        " person's (run it outside the agent)", code=1)
    start = time.perf_counter()
    if decision == "accept":
        from ossa_hooks.agents import budget
        from ossa_hooks.judge.trusted import merge_gate_for
        from ossa_hooks.worktree.cleanup import cleanup

        cleanup(repo, config, repo_name, s.agent, s.task, merge_gate=merge_gate_for(repo, config),
                merge=True, interactive=False, echo=echo,
                report=lambda branches: budget.report_for_branches(repo, config, branches))
        done: dict[str, Any] = {"decision": "accept", "merged": True}
    elif decision == "reject":
        done = {"decision": "reject", **_reject(repo, config, repo_name, s, echo)}
    elif decision == "send-back":
        done = {"decision": "send-back", **_send_back(s, note or "", echo)}
    else:
        raise OssaError(f"unknown decision {decision!r} (one of {', '.join(DECISIONS)})")
    from ossa_hooks import audit

    audit.record(repo, "worktree", "review", 0, time.perf_counter() - start,
                 {"branch": s.branch, "head": s.head, **done}, outcome=decision)
    return done


def _reject(repo: RepoPaths, config: Config, repo_name: str | None, s: Subject,
            echo: Echo) -> dict[str, Any]:
    from ossa_hooks.worktree.cleanup import cleanup

    cwd = _cwd(repo)
    from ossa_hooks.worktree.safety import keep_tip

    ref = keep_tip(repo, s.branch, s.head, why=f"ossa-hooks review: rejected {s.branch}")
    echo(f"parked {s.branch} ({s.head[:10]}) at {ref}")
    if s.worktree is not None:
        hide = f"kept branch {s.branch}:"
        cleanup(repo, config, repo_name, s.agent, s.task, merge_gate=None, merge=False,
                force=True,
                interactive=False, echo=lambda line: None if line.startswith(hide) else echo(line))
    if branch_exists(cwd, s.branch):
        git.run(["branch", "-D", s.branch], cwd)
        echo(f"deleted branch {s.branch} (restore it: git branch {s.branch} {ref})")
    return {"kept": ref}


def _send_back(s: Subject, note: str, echo: Echo) -> dict[str, Any]:
    from ossa_hooks.agents import sendback

    if s.worktree is None or s.worktree.missing:
        raise OssaError(f"{s.branch} has no worktree to send back to: create one with"
                        f" `ossa-hooks worktree create --force {s.agent} {s.task}`")
    if not note.strip():
        raise OssaError("--send-back needs a note: what should the next round change?")
    saved = sendback.send_back(s.worktree.path, note, by=_person(), head=s.head)
    echo(f"sent {s.branch} back: the next execute round reads the note"
         f" (cd {s.worktree.path} && ossa-hooks workflow run)")
    return {"note": saved.as_json()}


def _person() -> str:
    proc = git.run(["config", "user.name"], None, check=False)
    return proc.stdout.decode("utf-8", "replace").strip() or "a person"


# --- the command ---------------------------------------------------------------------------------


def run(repo: RepoPaths, config: Config, repo_name: str | None, agent: str, task: str, *,
        fmt: str = "text", decision: str | None = None, note: str | None = None,
        patch: bool = True, read: Callable[[str], str] = input,
        out: TextIO | None = None) -> int:
    """``worktree review``: show, then decide (flags, or a question on a terminal)."""
    out = out or sys.stdout
    s = subject(repo, config, agent, task)
    f = facts(repo, config, s)
    terminal = sys.stdin.isatty() and out.isatty()
    if fmt == "json":
        import json

        if decision is not None:
            lines: list[str] = []
            f["result"] = {**decide(repo, config, repo_name, s, decision, note, lines.append),
                           "output": lines}
        print(json.dumps(f, indent=2, ensure_ascii=False), file=out)
        return 0
    print(summary(f), file=out)
    show_diff(repo, s, out, patch=patch, terminal=terminal)
    if decision is None and terminal:
        decision, note = ask(read)
        if decision is None:
            print("no decision: the task stays as it is", file=out)
            return 0
    if decision is not None:
        decide(repo, config, repo_name, s, decision, note, lambda line: print(line, file=out))
    return 0
