"""``worktree pr AGENT TASK``: push an agent branch and open a pull request with GitHub's ``gh``.

Before anything leaves the machine: ``gh`` must be installed and logged in, and the commits the
remote lacks must pass the secret scan every push passes (the scanner is handed in by the
command, since ``agents/`` does not import ``secrets/``). The title is the task's description,
the body the task's compliance report: phases, verdicts, tokens and cost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks.agents import review
from ossa_hooks.config import Config
from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.worktree.records import _cwd

# (repository, commits) -> one line per secret found (masked); empty when clean.
Scanner = Callable[[RepoPaths, Sequence[str]], list[str]]
Echo = Callable[[str], None]


def gh_ready(cwd: Path) -> str:
    """The ``gh`` program, installed and logged in; else a one-line error with the fix."""
    gh = shutil.which("gh")
    if gh is None:
        raise OssaError("gh (GitHub CLI) is not installed: install it (https://cli.github.com,"
                        " or `apt-get install gh`), then `gh auth login`")
    proc = subprocess.run([gh, "auth", "status"], cwd=cwd, capture_output=True,
                          env=git.no_git_env(), check=False)
    if proc.returncode != 0:
        said = _last_line(proc.stderr or proc.stdout)
        raise OssaError("gh is not logged in" + (f" ({said})" if said else "")
                        + ": run `gh auth login`, then this again")
    return gh


def missing_commits(cwd: Path, head: str, remote: str) -> list[str]:
    """The commits of ``head`` that no ref of ``remote`` (as last fetched) has, oldest first."""
    return git.out(["rev-list", "--reverse", head, "--not", f"--remotes={remote}", "--"],
                   cwd).split()


def title_and_body(f: dict[str, Any], worktree: Path | None) -> tuple[str, str]:
    """The pull request's title (the task's description) and body (its compliance report,
    or the same facts from the record when no workflow wrote one)."""
    wf = f["workflow"]
    description = str(wf.get("description") or "") if wf is not None else ""
    description = description.strip() or f["task"]
    report = _compliance(worktree, wf)
    lines = [f"Task `{f['task']}` by agent `{f['agent']}`: {description}", ""]
    if report:
        lines += [report.strip(), ""]
    else:
        lines += ["## Phases", ""]
        if wf is None:
            lines.append("No workflow has run for this task.")
        else:
            lines += ["| phase | round | status | tokens | note |",
                      "| --- | ---: | --- | ---: | --- |"]
            lines += [f"| {p['name']} | {p['round']} | {p['status']} | {p['tokens']:,} |"
                      f" {p['note'].replace('|', '/')} |" for p in wf["phases"]]
        lines.append("")
    lines += ["## Verdicts on the pushed head", ""]
    j = f["judge"]
    lines.append(f"- judge: {'passed' if j['passed'] else 'failed'} on `{f['head'][:10]}`"
                 if j is not None else "- judge: no verdict on this head")
    r = wf["review"] if wf is not None else None
    lines.append(f"- reviewer: {r['verdict']} (round {r['round']}, {len(r['findings'])}"
                 " finding(s))" if r is not None else "- reviewer: no review")
    t = f["tokens"]
    if t is not None:
        cost = f"${t['cost_usd']:.4f}" if t["cost_usd"] is not None else "not reported"
        lines.append(f"- tokens: {t['used']:,} / {t['budget']:,}; cost: {cost}")
    lines += ["", f"_Opened by `ossa-hooks worktree pr {f['agent']} {f['task']}`._"]
    return description.splitlines()[0][:200], "\n".join(lines) + "\n"


def _compliance(worktree: Path | None, wf: dict[str, Any] | None) -> str:
    if worktree is None or wf is None:
        return ""
    path = worktree / review.WORKSPACE / "metrics" / f"compliance-{wf['workflow']}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def open_pr(repo: RepoPaths, config: Config, agent: str, task: str, *, scan: Scanner,
            remote: str = "origin", base: str | None = None, draft: bool = False,
            echo: Echo = print) -> dict[str, Any]:
    """Check ``gh``, scan, push ``agents/AGENT/TASK`` to ``remote``, open the pull request."""
    start = time.perf_counter()
    s = review.subject(repo, config, agent, task)
    cwd = _cwd(repo)
    if not git.ok(["remote", "get-url", remote], cwd):
        raise OssaError(f"no remote {remote!r}: add one (git remote add {remote} URL) or pass"
                        " --remote NAME")
    gh = gh_ready(cwd)
    if s.fork is not None and s.fork == s.head:
        raise OssaError(f"{s.branch} has no commit of its own yet: nothing to propose")
    commits = missing_commits(cwd, s.head, remote)
    found = scan(repo, commits)
    if found:
        for line in found:
            echo(line)
        raise OssaError(f"{len(found)} possible secret(s) in the {len(commits)} commit(s)"
                        f" {remote} lacks: nothing was pushed; remove them from {s.branch}'s"
                        " history (or allow what is not a secret), then run this again",
                        code=EXIT_FAILED)
    echo(f"secret scan: {len(commits)} commit(s) {remote} lacks, clean")
    refspec = f"refs/heads/{s.branch}:refs/heads/{s.branch}"
    push = git.run(["push", "--porcelain", remote, refspec], cwd, check=False)
    if push.returncode != 0:
        said = [line.strip() for line in (push.stderr or push.stdout).decode(
            "utf-8", "replace").splitlines() if line.strip() and not line.startswith(
            ("error: failed to push", "To ", "!"))]
        raise OssaError(f"git push {remote} {s.branch} failed: "
                        f"{said[-1] if said else 'see git push output'}", code=EXIT_FAILED)
    echo(f"pushed {s.branch} ({s.head[:10]}) to {remote}")
    f = review.facts(repo, config, s)
    title, body = title_and_body(f, s.worktree.path if s.worktree is not None else None)
    target = base or s.base
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as tmp:
        tmp.write(body)
    try:
        args = [gh, "pr", "create", "--head", s.branch, "--base", target, "--title", title,
                "--body-file", tmp.name] + (["--draft"] if draft else [])
        proc = subprocess.run(args, cwd=cwd, capture_output=True, env=git.no_git_env(),
                              check=False)
    finally:
        os.unlink(tmp.name)
    if proc.returncode != 0:
        raise OssaError(f"gh pr create failed: {_last_line(proc.stderr or proc.stdout)} (the"
                        f" branch is pushed; open it by hand: gh pr create --head {s.branch})",
                        code=EXIT_FAILED)
    url = _last_line(proc.stdout)
    echo(f"opened pull request: {url}")
    from ossa_hooks import audit

    audit.record(repo, "worktree", "pr", 0, time.perf_counter() - start,
                 {"branch": s.branch, "head": s.head, "remote": remote, "base": target,
                  "url": url, "commits": len(commits)})
    return {"branch": s.branch, "head": s.head, "remote": remote, "base": target,
            "title": title, "url": url, "commits_scanned": len(commits)}


def _last_line(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
