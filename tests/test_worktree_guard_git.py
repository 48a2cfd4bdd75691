"""The guard's ``git`` on an agent's PATH: the commands git runs no hook before (a switch, a
detaching checkout, a reset, a clean, a fast-forward, a worktree removal) are refused before
any file, index, ref or HEAD changes; everything else reaches the real git unchanged, and a
person is never stopped."""

from __future__ import annotations

import json
import os
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

from ossa_hooks.config import HOOK_TYPES
from ossa_hooks.worktree import guard_git

# (name, where it runs: "own", "main" or "other" (another agent's worktree), git args with
# {other} (the other agent's branch), {other_wt} (its worktree) and {own_agent}, the rule)
FORBIDDEN: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("switch to another agent's branch", "own",
     ("switch", "--ignore-other-worktrees", "{other}"), "leave-branch"),
    ("checkout another agent's branch", "own",
     ("checkout", "--ignore-other-worktrees", "{other}"), "leave-branch"),
    ("checkout the base branch through an alias", "own", ("co", "main"), "leave-branch"),
    ("detach its own worktree", "own", ("checkout", "--detach"), "leave-branch"),
    ("check out an older commit", "own", ("checkout", "HEAD~1"), "leave-branch"),
    ("make a branch and switch to it", "own", ("switch", "-c", "agents/{own_agent}/side"),
     "leave-branch"),
    ("remove another agent's worktree", "own", ("worktree", "remove", "--force", "{other_wt}"),
     "foreign-worktree"),
    ("reset --hard the main worktree", "main", ("reset", "--hard", "HEAD~1"),
     "foreign-worktree"),
    ("discard the person's edit", "main", ("checkout", "--", "README.md"), "foreign-worktree"),
    ("restore the person's edit", "main", ("restore", "README.md"), "foreign-worktree"),
    ("clean the person's untracked files", "main", ("clean", "-fdx"), "foreign-worktree"),
    ("fast-forward main to another agent's branch", "main", ("merge", "--ff-only", "{other}"),
     "foreign-worktree"),
    ("stash the person's work", "main", ("stash", "-u"), "foreign-worktree"),
    ("detach the main worktree", "main", ("checkout", "--detach"), "foreign-worktree"),
    ("reset another agent's worktree", "other", ("reset", "--hard", "HEAD~1"),
     "foreign-worktree"),
    ("stage in another agent's worktree", "other", ("add", "-A"), "foreign-worktree"),
    ("the main worktree's git dir over its own files", "own",
     ("--git-dir={main_git}", "checkout", "-f", "{other}"), "foreign-worktree"),
    ("its own git dir over the main worktree's files", "own",
     ("--work-tree={main}", "checkout", "--", "."), "foreign-worktree"),
)


def fill(args: tuple[str, ...], repo: Path, own: str, other: str) -> list[str]:
    return [a.format(other=branch_of(other), other_wt=str(wt(repo, other)), own_agent=own,
                     main=str(repo), main_git=str(repo / ".git")) for a in args]


def worktree_state(repo: Path) -> dict[str, tuple[str, str]]:
    """Each worktree's ``status`` and the bytes of its untracked files."""
    found = {}
    for path in [repo, *(wt(repo, a) for a in AGENTS)]:
        status = git(path, "status", "--porcelain", "--untracked-files=all").stdout
        drafts = "".join(p.read_text() for p in sorted(path.glob("*.txt")))
        found[path.name] = (status, drafts)
    return found


@pytest.fixture
def drafted(guarded: Path) -> Path:
    """``guarded`` with each agent's untracked draft and an alias ``co = checkout``."""
    git(guarded, "config", "alias.co", "checkout")
    for agent in AGENTS:
        (wt(guarded, agent) / f"{agent}-draft.txt").write_text(f"{agent}'s unsaved draft\n")
    return guarded


def test_three_agents_in_parallel_are_refused_before_git_touches_a_file(drafted: Path) -> None:
    repo = drafted
    before = (all_refs(repo), heads(repo), worktree_state(repo))

    def attack(agent: str) -> list[str]:
        env = agent_env(repo, agent, wrapper=True)
        done = []
        for name, where, args, rule in FORBIDDEN:
            others = [a for a in AGENTS if a != agent]
            for other in others if "{other" in "".join(args) or where == "other" else others[:1]:
                cwd = {"own": wt(repo, agent), "main": repo, "other": wt(repo, other)}[where]
                proc = git(cwd, *fill(args, repo, agent, other), check=False, env=env)
                refused(proc, rule)
                done.append(f"{agent}: {name}")
        return done

    with ThreadPoolExecutor(len(AGENTS)) as pool:
        done = [line for lines in pool.map(attack, AGENTS) for line in lines]
    assert len(done) == len(AGENTS) * sum(
        2 if "{other" in "".join(args) or where == "other" else 1
        for _, where, args, _ in FORBIDDEN)
    # Nothing moved: no ref, no HEAD, no worktree's files, staged or untracked.
    assert (all_refs(repo), heads(repo), worktree_state(repo)) == before
    assert (repo / "README.md").read_text() == "a person's unsaved edit\n"
    events = json.loads(ossa(repo, "audit", "--limit", "0", "--format", "json").stdout)
    guarded_events = [e for e in events if e["kind"] == "guard"]
    assert len(guarded_events) == len(done)
    assert {e["detail"]["hook_type"] for e in guarded_events} == {"git"}
    assert all(e["outcome"] == "refused" and e["detail"]["command"].startswith("git ")
               for e in guarded_events)


def test_an_agents_own_work_reaches_git_unchanged(drafted: Path) -> None:
    repo = drafted
    home = wt(repo, "alpha")
    env = agent_env(repo, "alpha", wrapper=True)

    def run(*args: str, stdin: bytes | None = None, rc: int = 0) -> str:
        proc = git(home, *args, env=env, check=False, input=stdin)
        assert proc.returncode == rc, (args, proc.stderr)
        out = proc.stdout
        return out.decode() if isinstance(out, bytes) else out

    (home / "README.md").write_text("alpha's edit\n")
    run("checkout", "--", "README.md")  # a file checkout in its own worktree
    assert (home / "README.md").read_text() == "hello\n"
    run("checkout", branch_of("alpha"))  # where it is
    run("switch", branch_of("alpha"))
    run("checkout", "--", "no-such-file", rc=1)  # git's own failure, as git says it
    (home / "README.md").write_text("alpha's second edit\n")
    run("stash")
    run("stash", "pop")
    patch = git(home, "diff", env=env).stdout.encode()
    run("checkout", "--", "README.md")
    run("apply", "-", stdin=patch)  # standard input reaches git
    assert (home / "README.md").read_text() == "alpha's second edit\n"
    run("add", "README.md")
    run("commit", "-q", "-F", "-", stdin=b"alpha's message from stdin\n")
    assert run("log", "-1", "--format=%s").strip() == "alpha's message from stdin"
    run("rebase", "-q", "main")
    run("branch", "agents/alpha/side")  # a branch without switching to it
    run("worktree", "list")
    assert run("rev-parse", "--abbrev-ref", "HEAD").strip() == branch_of("alpha")
    assert (home / "alpha-draft.txt").exists()
    events = json.loads(ossa(repo, "audit", "--limit", "0", "--format", "json").stdout)
    assert not [e for e in events if e["kind"] == "guard"]


def test_a_person_with_the_wrapper_on_path_is_never_stopped(drafted: Path) -> None:
    repo = drafted
    env = agent_env(repo, "alpha", wrapper=True)
    person = {k: v for k, v in env.items() if not k.startswith("OSSA_") or k == "OSSA_REAL_GIT"}
    home = wt(repo, "alpha")
    for cwd, args in ((home, ("checkout", "--detach")), (repo, ("checkout", "--", "README.md")),
                      (repo, ("clean", "-fdx")), (home, ("co", branch_of("alpha")))):
        proc = git(cwd, *args, env=person, check=False)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "guard" not in proc.stderr
    assert (repo / "README.md").read_text() == "hello\n"
    assert not (repo / "notes.txt").exists()


def test_where_the_guard_is_off_an_agents_switch_goes_through(drafted: Path) -> None:
    repo = drafted
    off = "hooks:\n" + "".join(f"  {t}: []\n" for t in HOOK_TYPES)
    home = wt(repo, "alpha")
    (home / ".ossa-hooks.yaml").write_text(off)
    proc = git(home, "checkout", "--detach", env=agent_env(repo, "alpha", wrapper=True),
               check=False)
    assert proc.returncode == 0, proc.stderr
    assert git(home, "branch", "--show-current").stdout == ""


@pytest.fixture
def no_interpreter(drafted: Path, tmp_path: Path) -> dict[str, str]:
    """alpha's environment with a wrapper whose interpreter is gone: a command that reaches
    the interpreter fails (exit 2, one line); one the script decides alone runs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "git"
    script.write_text(guard_git.render("/usr/bin/git", str(tmp_path / "gone" / "python")))
    script.chmod(0o755)
    env = agent_env(drafted, "alpha", wrapper=True)
    env["PATH"] = f"{folder}{os.pathsep}{env['PATH']}"
    return env


def test_the_wrapper_fails_closed_with_one_line_when_its_interpreter_is_gone(
        drafted: Path, no_interpreter: dict[str, str]) -> None:
    home = wt(drafted, "alpha")
    proc = git(home, "checkout", "--detach", env=no_interpreter, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "is gone" in proc.stderr
    assert git(home, "branch", "--show-current").stdout.strip() == branch_of("alpha")


def test_what_the_script_decides_without_the_interpreter(
        drafted: Path, no_interpreter: dict[str, str], tmp_path: Path) -> None:
    """Read-only commands, any command in another repository, and in its own worktree (also
    reached through a symlink, or with a relative gitdir) everything but checkout, switch,
    stash and worktree: git runs at once. Elsewhere in the repository, with an option that says
    where git works, or an alias: the interpreter decides."""
    repo = drafted
    home = wt(repo, "alpha")
    env = no_interpreter
    scratch = tmp_path / "scratch"
    git(tmp_path, "init", "-q", str(scratch))
    link = tmp_path / "alpha-link"
    link.symlink_to(home)
    (home / "alpha.txt").write_text("alpha\n")
    (home / "sub").mkdir()
    (home / "sub" / "deep.txt").write_text("deep\n")
    straight = [
        (home, ("status", "--short")), (repo, ("log", "-1")), (home, ("add", "alpha.txt")),
        (home, ("commit", "-q", "-m", "alpha")), (home, ("reset", "-q", "--soft", "HEAD")),
        (home / "sub", ("add", "deep.txt")), (home / "sub", ("restore", "--staged", ".")),
        (link, ("add", "alpha.txt")), (scratch, ("checkout", "-q", "-b", "x")),
        (scratch, ("commit", "-q", "--allow-empty", "-m", "x")),
        (scratch, ("checkout", "-q", "--detach")),
    ]
    for cwd, args in straight:
        proc = git(cwd, *args, env=env, check=False)
        assert proc.returncode == 0, (cwd, args, proc.stderr)
    decided = [
        (home, ("checkout", "--detach")), (home, ("stash", "list")), (link, ("switch", "-")),
        (repo, ("add", "notes.txt")), (home, ("-C", str(home), "add", "alpha.txt")),
        (home, ("--git-dir=" + str(repo / ".git"), "add", "alpha.txt")),
        (home, ("co", "-q", "HEAD")),
    ]
    for cwd, args in decided:
        proc = git(cwd, *args, env=env, check=False)
        assert proc.returncode == 2 and "is gone" in proc.stderr, (cwd, args, proc.stderr)
    # A .git file with a relative gitdir (git >= 2.48 can write them) is the same worktree.
    dot_git = home / ".git"
    admin = Path(dot_git.read_text().split("gitdir: ", 1)[1].strip())
    dot_git.write_text(f"gitdir: {os.path.relpath(admin, home)}\n")
    assert git(home, "add", "alpha.txt", env=env, check=False).returncode == 0
    assert git(home, "switch", "-", env=env, check=False).returncode == 2
    assert git(scratch, "log", "-1", env=env).returncode == 0


def test_the_wrapper_is_written_once_and_rewritten_when_it_changes(committed_repo: Path) -> None:
    from ossa_hooks.git import repo_paths

    repo = repo_paths(committed_repo)
    env = {"PATH": os.environ["PATH"]}
    guard_git.agent_environ(repo, env)
    target = repo.state_dir / "bin" / "git"
    assert env["PATH"].split(os.pathsep)[0] == str(target.parent)
    assert env["OSSA_REAL_GIT"] != str(target) and Path(env["OSSA_REAL_GIT"]).name == "git"
    stamp = target.stat().st_mtime_ns
    again = dict(env)
    guard_git.agent_environ(repo, again)  # an agent starting an agent: PATH gets it once
    assert again["PATH"] == env["PATH"] and target.stat().st_mtime_ns == stamp
    target.write_text("#!/bin/sh\nexit 0\n")
    guard_git.agent_environ(repo, dict(env))
    assert "ossa-hooks-git-wrapper-version" in target.read_text()
    assert guard_git.agent_environ(repo, nothing := {"PATH": "/nonexistent"}) is None
    assert nothing == {"PATH": "/nonexistent"}  # no git on PATH: nothing to guard


def test_an_agents_git_that_cannot_be_written_is_one_error_and_no_agent(
        committed_repo: Path) -> None:
    from ossa_hooks.errors import OssaError
    from ossa_hooks.git import repo_paths

    repo = repo_paths(committed_repo)
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    (repo.state_dir / "bin").write_text("not a folder\n")  # as a full disk or read-only .git
    env = {"PATH": os.environ["PATH"]}
    with pytest.raises(OssaError, match=r"cannot write the agents' git .*the agent was not"):
        guard_git.agent_environ(repo, env)
    assert env == {"PATH": os.environ["PATH"]}


def test_concurrent_writers_leave_one_whole_wrapper(committed_repo: Path) -> None:
    from ossa_hooks.git import repo_paths

    repo = repo_paths(committed_repo)
    barrier = threading.Barrier(4)

    def write(_: int) -> str:
        barrier.wait()
        return guard_git.write_wrapper(str(repo.state_dir / "bin"), "/usr/bin/git")

    with ThreadPoolExecutor(4) as pool:
        paths = set(pool.map(write, range(4)))
    (path,) = paths
    assert Path(path).read_text() == guard_git.render("/usr/bin/git",
                                                      __import__("sys").executable)
    assert [p.name for p in Path(path).parent.iterdir()] == ["git"]


def test_an_agent_may_take_only_its_own_stash_entries(guarded: Path) -> None:
    """git rewrites the stash's reflog before any hook runs: the agents' git refuses a drop,
    pop or clear of another branch's entry before that, so the person's entry stays listed."""
    repo = guarded
    home = wt(repo, "alpha")
    env = agent_env(repo, "alpha", wrapper=True)
    git(repo, "stash")  # the person's work, on main
    listed = git(repo, "stash", "list").stdout
    for args in (("stash", "drop"), ("stash", "pop"), ("stash", "drop", "0"),
                 ("stash", "drop", "-q", "stash@{0}"), ("stash", "clear")):
        refused(git(home, *args, env=env, check=False), "others-stash")
        assert git(repo, "stash", "list").stdout == listed
    (home / "README.md").write_text("alpha's edit\n")
    assert git(home, "stash", env=env, check=False).returncode == 0
    refused(git(home, "stash", "drop", "stash@{1}", env=env, check=False), "others-stash")
    refused(git(home, "stash", "clear", env=env, check=False), "others-stash")
    proc = git(home, "stash", "pop", env=env, check=False)  # its own, newest entry
    assert proc.returncode == 0, proc.stderr
    assert (home / "README.md").read_text() == "alpha's edit\n"
    assert git(repo, "stash", "list").stdout == listed
    git(repo, "stash", "pop")
    assert (repo / "README.md").read_text() == "a person's unsaved edit\n"


def test_git_outside_the_agents_repository_and_ossa_hooks_own_git_are_not_guarded(
        guarded: Path, tmp_path: Path) -> None:
    """A scratch repository (a clone, a test's) is not the guard's business; `ossa-hooks judge`
    run by the agent drives its gate worktree, and the checks run there, with git itself."""
    repo = guarded
    home = wt(repo, "alpha")
    env = agent_env(repo, "alpha", wrapper=True)
    scratch = tmp_path / "scratch"
    for args in (("init", "-q", str(scratch)), ("-C", str(scratch), "commit", "-q",
                 "--allow-empty", "-m", "x"), ("-C", str(scratch), "checkout", "-q", "-b", "b"),
                 ("-C", str(scratch), "checkout", "-q", "--detach")):
        proc = git(home, *args, env=env, check=False)
        assert proc.returncode == 0, (args, proc.stderr)
    check = ("git status --short && git checkout -- . && git stash list"
             f" && git -C {str(scratch)!r} checkout -q -")
    judge = {"checks": {**{n: {"enabled": False} for n in ("tests", "lint", "format",
                                                            "security")},
                        "git-using": {"run": check}}}
    (repo / ".ossa-hooks.yaml").write_text(
        (repo / ".ossa-hooks.yaml").read_text() + "judge: " + json.dumps(judge) + "\n")
    git(repo, "commit", "-q", "-m", "a check that runs git", ".ossa-hooks.yaml")
    proc = ossa(home, "judge", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "git-using" in proc.stdout and "guard" not in proc.stdout + proc.stderr
    events = json.loads(ossa(repo, "audit", "--limit", "0", "--format", "json").stdout)
    assert not [e for e in events if e["kind"] == "guard"]


def test_doctor_checks_the_agents_git_and_fix_writes_it_again(committed_repo: Path,
                                                              tmp_path: Path) -> None:
    from ossa_hooks.git import repo_paths

    repo = repo_paths(committed_repo)
    assert "agents' git" not in ossa(committed_repo, "doctor").stdout  # none written yet
    guard_git.agent_environ(repo, {"PATH": os.environ["PATH"]})
    target = repo.state_dir / "bin" / "git"
    out = ossa(committed_repo, "doctor").stdout
    assert f"ok      {target}: the agents' git (runs " in out
    gone = tmp_path / "old-venv" / "bin" / "python"
    target.write_text(guard_git.render("/usr/bin/git", str(gone)))
    proc = ossa(committed_repo, "doctor")
    assert proc.returncode == 1
    assert (f"problem {target}: the agents' git runs {gone}, which is gone: an agent's checked"
            " git commands are refused (run `ossa-hooks doctor --fix`)") in proc.stdout
    fixed = ossa(committed_repo, "doctor", "--fix")
    assert f"rewrote {target}" in fixed.stdout, fixed.stdout + fixed.stderr
    assert f"ok      {target}: the agents' git" in ossa(committed_repo, "doctor").stdout


def test_the_scripts_lists_agree_with_the_interpreters() -> None:
    """The subcommands the script sends straight to git (read-only; its own worktree's) and
    the ones the interpreter checks are the same sets on both sides."""
    import re

    from ossa_hooks.worktree.guard_command import WRITERS

    text = re.sub(r"\\\n\s*", "", guard_git.render("/usr/bin/git", "/python"))
    arms = [set(m.group(1).replace('""', "").strip().split("|")) - {""}
            for m in re.finditer(r"^\s*([\w|\"-]+)\)\s*(?:;;)?$", text, re.MULTILINE)]
    read_only, own_tree_checked, own_tree_straight = arms[0], arms[1], arms[2]
    assert "status" in read_only and not read_only & WRITERS
    assert own_tree_checked == {"checkout", "switch", "stash", "worktree"}
    assert own_tree_straight | own_tree_checked == WRITERS
