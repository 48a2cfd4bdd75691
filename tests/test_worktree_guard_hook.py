"""The ``ossa-guard`` action in real hooks: git commands run by processes that carry an agent
identity (three agents at once, each trying every forbidden operation against the others and
the main worktree) are refused before any ref or file changes, their allowed work goes through,
and a person's identical commands succeed. These agents run git itself (not the agents' git of
``guard_git``, tested in ``test_worktree_guard_git.py``): the hooks are the line that holds for a
git found some other way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import AGENTS
from conftest import agent_env
from conftest import all_refs
from conftest import branch_of
from conftest import git
from conftest import heads
from conftest import ossa
from conftest import refused
from conftest import wt

from ossa_hooks import identity
from ossa_hooks.install import render_shim

# (name, where it runs: "main" or "own", git args with {other}/{own}, the guard's rule or None
# when git itself refuses first, the target whose git lock it takes: "main", "{other}", or "")
FORBIDDEN: tuple[tuple[str, str, tuple[str, ...], str | None, str], ...] = (
    ("commit on main", "main", ("commit", "--allow-empty", "-m", "agent on main"),
     "own-worktree", "main"),
    ("commit on main, hooks skipped", "main",
     ("commit", "--no-verify", "--allow-empty", "-m", "agent on main"), "base-branch", "main"),
    ("stash in the main worktree", "main", ("stash",), "foreign-stash", "main"),
    ("checkout another agent's branch", "own", ("checkout", "{other}"), None, ""),
    ("branch -f another agent's branch", "own", ("branch", "-f", "{other}", "HEAD"), None, ""),
    ("update-ref another agent's branch", "own",
     ("update-ref", "refs/heads/{other}", "HEAD"), "other-agent-branch", "{other}"),
    ("delete another agent's branch", "own", ("update-ref", "-d", "refs/heads/{other}"),
     "other-agent-branch", "{other}"),
    ("update-ref the base branch", "own", ("update-ref", "refs/heads/main", "HEAD"),
     "base-branch", "main"),
    ("move the main worktree's HEAD", "own",
     ("update-ref", "--no-deref", "main-worktree/HEAD", "HEAD"), "foreign-worktree", "main"),
    ("branch outside the namespace", "own", ("branch", "feature-{own_agent}"),
     "outside-namespace", ""),
    ("push another agent's branch", "own", ("push", "origin", "{other}"), "push-own-branch",
     "origin"),
    ("push onto main", "own", ("push", "origin", "HEAD:main"), "push-own-branch", "origin"),
)


def fill(args: tuple[str, ...], own_agent: str, other: str) -> list[str]:
    return [a.format(other=other, own=branch_of(own_agent), own_agent=own_agent) for a in args]


def test_three_agents_in_parallel_are_refused_every_forbidden_operation(guarded: Path) -> None:
    repo = guarded
    refs_before = all_refs(repo)
    heads_before = heads(repo)
    remote_before = git(repo, "ls-remote", "origin").stdout
    status_before = git(repo, "status", "--porcelain").stdout
    locks: dict[str, threading.Lock] = {}
    for name in ("main", "origin", *(branch_of(a) for a in AGENTS)):
        locks[name] = threading.Lock()

    def attack(agent: str) -> list[str]:
        done = []
        others = [branch_of(a) for a in AGENTS if a != agent]
        for name, where, args, rule, target in FORBIDDEN:
            for other in others:
                cwd = repo if where == "main" else wt(repo, agent)
                key = target.format(other=other)
                lock = locks.get(key, threading.Lock())
                with lock:  # git's own ref and index locks are not what is under test
                    proc = git(cwd, *fill(args, agent, other), check=False,
                               env=agent_env(repo, agent))
                refused(proc, rule)
                done.append(f"{agent}: {name} ({other})")
        return done

    with ThreadPoolExecutor(len(AGENTS)) as pool:
        results = [line for lines in pool.map(attack, AGENTS) for line in lines]
    assert len(results) == len(AGENTS) * len(FORBIDDEN) * 2

    # Nothing moved: no ref, no worktree's HEAD, nothing on the remote, the person's work.
    assert all_refs(repo) == refs_before
    assert heads(repo) == heads_before
    assert git(repo, "ls-remote", "origin").stdout == remote_before
    assert git(repo, "status", "--porcelain").stdout == status_before
    assert (repo / "README.md").read_text() == "a person's unsaved edit\n"
    assert (repo / "notes.txt").read_text() == "a person's untracked notes\n"
    # Each refusal by the guard is an audit event naming its rule.
    proc = ossa(repo, "audit", "--limit", "0", "--format", "json")
    events = [e for e in json.loads(proc.stdout) if e["kind"] == "guard"]
    ruled = [r for _, _, _, r, _ in FORBIDDEN if r is not None]
    assert len(events) == len(AGENTS) * 2 * len(ruled)
    assert {e["name"] for e in events} == set(ruled)
    assert all(e["outcome"] == "refused" and e["detail"]["agent_id"].endswith("-1")
               for e in events)


def test_every_allowed_operation_of_three_agents_in_parallel_works(guarded: Path) -> None:
    repo = guarded
    git(repo, "commit", "-q", "--allow-empty", "-m", "a person's commit the agents rebase onto")
    main_tip = git(repo, "rev-parse", "main").stdout.strip()

    def work(agent: str) -> str:
        env = agent_env(repo, agent)
        home = wt(repo, agent)
        (home / f"{agent}.txt").write_text(f"{agent}'s work\n")

        def run(*a: str) -> None:
            proc = git(home, *a, env=env, check=False)
            assert proc.returncode == 0, (a, proc.stderr)

        run("add", f"{agent}.txt")
        run("commit", "-q", "-m", f"{agent} works")
        run("rebase", "-q", "main")  # detaches HEAD while it replays: its own branch's rebase
        run("stash", "list")
        run("branch", f"agents/{agent}/scratch")
        run("update-ref", f"refs/heads/agents/{agent}/scratch", "HEAD~1")
        run("branch", "-D", f"agents/{agent}/scratch")
        run("tag", f"{agent}-done")
        run("push", "-q", "origin", branch_of(agent))
        return git(home, "rev-parse", "HEAD").stdout.strip()

    with ThreadPoolExecutor(len(AGENTS)) as pool:
        tips = dict(zip(AGENTS, pool.map(work, AGENTS), strict=True))
    remote = git(repo, "ls-remote", "origin").stdout
    for agent, tip in tips.items():
        assert git(repo, "rev-parse", branch_of(agent)).stdout.strip() == tip
        assert git(repo, "merge-base", "--is-ancestor", main_tip, tip, check=False
                   ).returncode == 0
        assert f"{tip}\trefs/heads/{branch_of(agent)}" in remote
        assert (wt(repo, agent) / f"{agent}.txt").exists()
    assert ossa(repo, "audit", "--name", "guard").stdout.count("refused") == 0


def test_a_persons_identical_commands_succeed(guarded: Path) -> None:
    repo = guarded
    other = branch_of("beta")
    home = wt(repo, "alpha")
    for name, where, args, _rule, _ in FORBIDDEN:
        if name in ("checkout another agent's branch", "branch -f another agent's branch"):
            continue  # git itself refuses these to everyone (the branch is checked out)
        cwd = repo if where == "main" else home
        proc = git(cwd, *fill(args, "alpha", other), check=False)
        assert proc.returncode == 0, (name, proc.stderr)
        assert "ossa-hooks: guard" not in proc.stderr
        if name == "delete another agent's branch":
            git(repo, "update-ref", f"refs/heads/{other}", "HEAD")  # put it back for pushes
        if name == "stash in the main worktree":
            assert git(repo, "stash", "list").stdout.count("WIP on main") == 1
    assert git(repo, "rev-parse", "refs/heads/main").stdout == git(
        home, "rev-parse", "HEAD").stdout
    assert ossa(repo, "audit", "--name", "guard").stdout.count("refused") == 0


def test_an_agent_stash_stays_its_own(guarded: Path) -> None:
    repo = guarded
    home = wt(repo, "alpha")
    env = agent_env(repo, "alpha")
    git(repo, "stash")  # a person's stash: the stash is shared by every worktree
    person_entry = git(repo, "rev-parse", "refs/stash").stdout.strip()
    (home / "README.md").write_text("alpha's edit\n")
    assert git(home, "stash", env=env, check=False).returncode == 0
    assert git(repo, "stash", "list").stdout.count("\n") == 2
    assert git(home, "stash", "pop", env=env, check=False).returncode == 0
    assert (home / "README.md").read_text() == "alpha's edit\n"
    # Now the only entry is the person's: the agent may not drop it. (git 2.39 rewrites the
    # stash's reflog before the hook runs, so `stash list` no longer shows it; refs/stash still
    # holds it and `git stash apply refs/stash` brings it back.)
    proc = git(home, "stash", "drop", env=env, check=False)
    refused(proc, "others-stash")
    assert git(repo, "rev-parse", "refs/stash").stdout.strip() == person_entry
    git(repo, "stash", "apply", "refs/stash")
    assert (repo / "README.md").read_text() == "a person's unsaved edit\n"


def test_a_switch_git_cannot_refuse_is_reported_after_a_snapshot(guarded: Path) -> None:
    repo = guarded
    home = wt(repo, "alpha")
    env = agent_env(repo, "alpha")
    (home / "draft.txt").write_text("alpha's uncommitted draft\n")
    other = branch_of("beta")
    other_tip = git(repo, "rev-parse", other).stdout
    proc = git(home, "switch", "--ignore-other-worktrees", other, env=env, check=False)
    refused(proc, "leave-branch")
    assert "reported [leave-branch]" in proc.stderr
    assert f"git switch {branch_of('alpha')}" in proc.stderr
    saved = proc.stderr.split("uncommitted work saved to ")[1].split(")")[0]
    snap_files = git(repo, "ls-tree", "-r", "--name-only", saved).stdout.split()
    assert "draft.txt" in snap_files
    # The other agent's branch did not move; the agent is told how to go back, and can.
    assert git(repo, "rev-parse", other).stdout == other_tip
    assert git(home, "switch", branch_of("alpha"), env=env, check=False).returncode == 0


def test_a_detaching_checkout_in_the_main_worktree_is_reported(guarded: Path) -> None:
    repo = guarded
    proc = git(repo, "checkout", "--detach", "HEAD", env=agent_env(repo, "alpha"), check=False)
    refused(proc, "foreign-worktree")
    assert "reported [foreign-worktree]" in proc.stderr
    # A person's detaching checkout is not the guard's business.
    git(repo, "checkout", "-q", "main")
    assert "ossa-hooks: guard" not in git(repo, "checkout", "--detach", "HEAD").stderr


def test_an_agent_without_a_worktree_of_its_own_cannot_commit(guarded: Path) -> None:
    env = {**os.environ, identity.AGENT_ID: "stray-1"}
    proc = git(guarded, "commit", "--allow-empty", "-m", "x", env=env, check=False)
    refused(proc, "no-own-branch")


def test_a_person_committing_on_an_agent_branch_gets_a_note(guarded: Path) -> None:
    home = wt(guarded, "alpha")
    proc = git(home, "commit", "--allow-empty", "-m", "a person helps")
    assert "note: committing on agent branch agents/alpha/t as a person" in proc.stderr


def test_the_reference_transaction_shim_starts_python_only_for_an_agents_prepared_state(
        committed_repo: Path, tmp_path: Path) -> None:
    """The installed shim runs a recording interpreter: a person's commit never starts it."""
    marker = tmp_path / "started"
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho \"$5 $6\" >> '{marker}'\nexec '{sys.executable}' \"$@\"\n")
    fake.chmod(0o755)
    hook = committed_repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(render_shim("reference-transaction", str(fake)))
    hook.chmod(0o755)
    git(committed_repo, "commit", "--allow-empty", "-q", "-m", "a person's commit")
    git(committed_repo, "branch", "person-branch")
    assert not marker.exists()
    env = {**os.environ, **identity.Identity("a-1", branch="main",
                                             worktree=str(committed_repo)).environ()}
    git(committed_repo, "commit", "--allow-empty", "-q", "-m", "an agent's commit", env=env)
    started = marker.read_text().splitlines()
    assert len(started) == 1 and "reference-transaction prepared" in started[0]


def test_housekeeping_that_keeps_every_value_is_not_refused(guarded: Path) -> None:
    """`git pack-refs` and `gc` rewrite every ref and delete the loose copies: no value
    changes, so nothing is refused; a real deletion of a packed ref still is."""
    home = wt(guarded, "alpha")
    env = agent_env(guarded, "alpha")
    before = all_refs(guarded)
    for args in (("pack-refs", "--all"), ("gc", "-q")):
        proc = git(home, *args, env=env, check=False)
        assert proc.returncode == 0, proc.stderr
    assert all_refs(guarded) == before
    assert "refs/heads/agents/beta/t" in (guarded / ".git" / "packed-refs").read_text()
    git(guarded, "worktree", "remove", "--force", str(wt(guarded, "beta")))
    proc = git(home, "branch", "-D", branch_of("beta"), env=env, check=False)
    refused(proc, "other-agent-branch")
    assert all_refs(guarded) == before


PERSON_PROBE = r"""
import json, sys
from ossa_hooks.git import hook_repo_paths
from ossa_hooks.hook_context import HookContext
from ossa_hooks import config
repo = hook_repo_paths()
cfg = config.load(repo.toplevel_str)
before = set(sys.modules)
from ossa_hooks.worktree import guard_hook
codes = [guard_hook.hook(HookContext(t, a, repo, cfg, environ={}))
         for t, a in (("pre-commit", ()), ("pre-push", ("origin", "url")),
                      ("post-checkout", ("1" * 40, "2" * 40, "1")))]
print(json.dumps({"codes": codes, "new": sorted(set(sys.modules) - before)}))
"""


def test_a_persons_hooks_import_nothing_but_the_guard(guarded: Path) -> None:
    """pre-commit, pre-push and post-checkout run ossa-guard for everyone: for a person it
    reads a few files and imports no module beyond its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSSA_")}
    out = subprocess.run([sys.executable, "-c", PERSON_PROBE], cwd=guarded, env=env,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["codes"] == [0, 0, 0]
    assert all(m.startswith("ossa_hooks") for m in result["new"]), result["new"]


def test_an_agent_started_by_the_runner_is_held_to_its_worktree(guarded: Path,
                                                                tmp_path: Path) -> None:
    """`ossa-hooks agents run` gives the program its identity and the guard's git; the guard
    does the rest."""
    home = wt(guarded, "alpha")
    script = tmp_path / "agent.sh"
    script.write_text(
        "#!/bin/sh\ncat > /dev/null\n"
        f"git -C '{guarded}' commit --allow-empty -m 'stray commit on main'"
        " && echo 'main: committed' || echo 'main: refused'\n"
        "git checkout -q --detach && echo 'detach: done' || echo 'detach: refused'\n"
        "git commit --allow-empty -m 'alpha works' && echo 'own: committed'\n")
    script.chmod(0o755)
    (home / "spec.yaml").write_text(
        "name: coder\ntype: coder\nprovider:\n  type: command\n"
        f"  command: {json.dumps(str(script))}\nprompt: \"do {{task}}\"\n")
    main_before = git(guarded, "rev-parse", "main").stdout
    spawn = ossa(home, "agents", "spawn", "coder", "--config", "spec.yaml")
    assert spawn.returncode == 0, spawn.stderr
    run = ossa(home, "agents", "run", spawn.stdout.strip(), "-m", "go")
    assert run.returncode == 0, run.stderr
    assert "main: refused" in run.stdout and "own: committed" in run.stdout
    assert "detach: refused" in run.stdout
    assert git(guarded, "rev-parse", "main").stdout == main_before
    assert git(home, "log", "-1", "--format=%s").stdout.strip() == "alpha works"
    events = json.loads(ossa(guarded, "audit", "--limit", "0", "--format", "json").stdout)
    refusals = [e for e in events if e["kind"] == "guard"]
    # The runner put the guard's git first on the program's PATH: both are refused before git
    # starts (the hooks would have refused the commit too, but not the detach before the files
    # moved).
    assert [(e["name"], e["detail"]["hook_type"], e["detail"]["agent_id"]) for e in refusals
            ] == [("foreign-worktree", "git", spawn.stdout.strip()),
                  ("leave-branch", "git", spawn.stdout.strip())]
    assert git(home, "branch", "--show-current").stdout.strip() == branch_of("alpha")


def test_doctor_counts_the_guard_active_under_pre_commit_migration_mode(
        committed_repo: Path) -> None:
    """pre-commit installed first, then ossa-hooks: the shim runs as pre-commit.legacy, so the
    guard runs on every commit and doctor says so (it said "hook not installed")."""
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit comes from PyPI with the tests extra: pip install -e '.[tests]'")
    (committed_repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n      - id: hi\n        name: hi\n"
        "        entry: 'true'\n        language: system\n        pass_filenames: false\n")
    subprocess.run([str(pre_commit), "install"], cwd=committed_repo, check=True,
                   capture_output=True)
    assert ossa(committed_repo, "install").returncode == 0
    assert (committed_repo / ".git" / "hooks" / "pre-commit.legacy").exists()
    out = ossa(committed_repo, "doctor").stdout
    assert "guard: not active" not in out
    assert f"ok      {committed_repo}: guard rails active (pre-commit, reference-transaction," \
        " pre-push, post-checkout; git 2." in out
    # The agent's commit on the main branch is refused through pre-commit's script.
    who = identity.Identity("a-1", agent_type="coder", task="t", branch="agents/coder/t",
                            worktree=str(committed_repo / ".worktrees" / "x"))
    git(committed_repo, "add", "-A")
    proc = git(committed_repo, "commit", "-qm", "agent on main", check=False,
               env={**os.environ, **who.environ()})
    assert proc.returncode != 0
    assert "guard: refused" in proc.stderr
