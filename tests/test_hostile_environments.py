"""The whole command surface (every command and every hook type) in hostile environments:
no git on PATH, a read-only ``.git``, corrupt state databases, an ASCII locale, a ``--repo``
that does not exist, outside any repository. Each case asserts what a user sees: the exit
code, one line on stderr without "unexpected error" or a traceback, and a repository left
exactly as it was (refs, index, worktree bytes).

hypothesis generates the input side: names, paths and configuration values.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks import config as config_mod
from ossa_hooks.errors import OssaError

EXE = Path(sys.executable).with_name("ossa-hooks")
ZERO = "0" * 40

# Every command and every hook type, with arguments that reach its work.
SURFACE: tuple[tuple[str, ...], ...] = (
    ("install",),
    ("uninstall",),
    ("doctor",),
    ("doctor", "--fix"),
    ("audit",),
    ("scan",),
    ("scan", "--all-files"),
    ("backup", "create"),
    ("backup", "list"),
    ("backup", "show", "backup/auto-save-x"),
    ("backup", "restore", "backup/auto-save-x"),
    ("backup", "prune"),
    ("backup", "park"),
    ("gitignore", "check"),
    ("gitignore", "check", "--format", "json"),
    ("gitignore", "fix"),
    ("judge", "--check", "lint"),
    ("budget", "report"),
    ("agents", "list"),
    ("spawn", "a task"),
    ("workflow", "status"),
    ("workflow", "memory"),
    ("worktree", "create", "coder", "t1"),
    ("worktree", "list"),
    ("worktree", "cleanup", "coder", "t1"),
    ("run", "pre-commit"),
    ("run", "pre-push", "origin", "url"),
    ("run", "post-checkout", ZERO, ZERO, "1"),
    ("run", "post-merge", "0"),
    ("run", "pre-rebase", "main"),
)
# The rest of the surface: commands that start agents or workflows (only swept without git,
# where they stop before starting anything).
AGENT_SURFACE: tuple[tuple[str, ...], ...] = (
    ("agents", "spawn", "coder"),
    ("agents", "run", "x", "-m", "hi"),
    ("agents", "terminate", "x"),
    ("workflow", "run"),
    ("workflow", "logs"),
    ("workflow", "execute", "phase", "--name", "1_plan"),
    ("workflow", "orchestrate", "--config", "wf.yaml"),
)
HOOK_TYPES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "pre-rebase")


def cmd_id(args: tuple[str, ...]) -> str:
    return " ".join(a for a in args if a != ZERO)


def run(cwd: Path, *args: str, env: dict[str, str] | None = None,
        prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, str(EXE), *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False, stdin=subprocess.DEVNULL, timeout=120)


def state(repo: Path) -> dict[str, str]:
    """What must not change: every ref, HEAD, the index's bytes, every worktree file's bytes."""
    refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)").stdout
    head = (repo / ".git" / "HEAD").read_bytes().decode()
    index = repo / ".git" / "index"
    files = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] == ".git":
            continue
        files[str(rel)] = ("dir" if path.is_dir() and not path.is_symlink()
                           else hashlib.sha256(path.read_bytes()).hexdigest())
    return {
        "refs": refs,
        "HEAD": head,
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else "",
        "files": repr(files),
    }


def assert_one_line(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    err = proc.stderr
    assert "Traceback" not in err, err
    assert "unexpected error" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], err
    return lines[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with ossa-hooks installed and committed, and uncommitted work."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = T\n\temail = t@example.com\n"
                         "[init]\n\tdefaultBranch = main\n")
    env = {**os.environ, "HOME": str(home), "GIT_CONFIG_GLOBAL": str(gitconfig),
           "GIT_CONFIG_NOSYSTEM": "1"}
    repo = tmp_path_factory.mktemp("tpl") / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    (repo / "README.md").write_text("hello\n")
    (repo / "ø naïve.txt").write_text("non-ASCII name\n")
    assert run(repo, "install", env=env).returncode == 0
    (repo / ".ossa-hooks.yaml").write_text(
        "judge:\n  checks:\n    lint:\n      run: 'true'\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", "init"], cwd=repo, check=True,
                   env=env)
    (repo / "README.md").write_text("hello, changed\n")
    (repo / "new file.txt").write_text("untracked\n")
    return repo


@pytest.fixture
def proj(template: Path, tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    # The hooks' interpreter path is absolute; the copy keeps them working.
    yield repo


@pytest.fixture(scope="module")
def no_git_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with every program of the system but git (and this environment's scripts)."""
    folder = tmp_path_factory.mktemp("nogit-bin")
    for src in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not os.path.isdir(src):
            continue
        for name in os.listdir(src):
            target = folder / name
            if name.startswith("git") or target.exists() or target.is_symlink():
                continue
            target.symlink_to(os.path.join(src, name))
    return f"{EXE.parent}{os.pathsep}{folder}"


# --- no git on PATH ------------------------------------------------------------------------


@pytest.mark.parametrize("args", SURFACE + AGENT_SURFACE, ids=cmd_id)
def test_no_git_every_command_one_line_exit_2(proj: Path, no_git_path: str,
                                              args: tuple[str, ...]) -> None:
    before = state(proj)
    proc = run(proj, *args, env={**os.environ, "PATH": no_git_path})
    assert proc.returncode == 2, proc.stderr
    assert_one_line(proc, "git not found on PATH")
    assert state(proj) == before


@pytest.mark.parametrize("args", [("budget", "count", "README.md"), ("scan", "README.md")],
                         ids=cmd_id)
def test_no_git_commands_that_need_none_still_work(proj: Path, no_git_path: str,
                                                   args: tuple[str, ...]) -> None:
    proc = run(proj, *args, env={**os.environ, "PATH": no_git_path})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr


@pytest.mark.parametrize("hook_type", HOOK_TYPES)
def test_no_git_every_installed_hook_one_line(proj: Path, no_git_path: str,
                                              hook_type: str) -> None:
    """The installed shim itself, started as git starts it, with no git to be found."""
    if hook_type == "post-merge":  # an agent worktree, so the cleanup has work that needs git
        git(proj, "worktree", "add", "-q", "-b", "agents/coder/t1", str(proj.parent / "wt"))
    before = state(proj)
    args = {"post-checkout": [ZERO, ZERO, "1"], "post-merge": ["0"],
            "pre-push": ["origin", "url"], "pre-rebase": ["main"]}.get(hook_type, [])
    head = git(proj, "rev-parse", "HEAD").stdout.strip()
    stdin = f"refs/heads/main {head} refs/heads/main {ZERO}\n" if hook_type == "pre-push" else ""
    proc = subprocess.run([str(proj / ".git" / "hooks" / hook_type), *args], cwd=proj,
                          capture_output=True, text=True, check=False, input=stdin,
                          env={**os.environ, "PATH": no_git_path}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert_one_line(proc, "git not found on PATH")
    assert state(proj) == before


# --- a read-only .git ------------------------------------------------------------------------


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--map-root-user", "true"], capture_output=True,
                           check=False)
    if probe.returncode != 0:
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


READ_ONLY = pytest.mark.skipif(not _can_mount_read_only(),
                               reason="needs a mount namespace (unshare -m) for a read-only .git")


def read_only_prefix(repo: Path) -> tuple[str, ...]:
    """Run the command with the repository's .git mounted read-only (root ignores file modes,
    so a read-only bind mount is what makes it read-only for everyone)."""
    git_dir = str(repo / ".git")
    script = ('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"')
    return ("unshare", "-m", "sh", "-c", script, git_dir)


@READ_ONLY
@pytest.mark.parametrize("args", [
    ("backup", "create"),
    ("worktree", "create", "coder", "t1"),
    ("install",),
    ("install", "--hook-type", "pre-commit"),
], ids=cmd_id)
def test_read_only_git_writers_one_line_exit_2_nothing_changed(proj: Path,
                                                               args: tuple[str, ...]) -> None:
    if args[0] == "install":  # installed already (nothing to write): take one shim away
        (proj / ".git" / "hooks" / "pre-commit").unlink()
    before = state(proj)
    proc = run(proj, *args, prefix=read_only_prefix(proj))
    assert proc.returncode == 2, proc.stderr
    assert_one_line(proc, "read-only")
    assert state(proj) == before
    assert not (proj / ".worktrees").exists()


@READ_ONLY
@pytest.mark.parametrize("args", SURFACE, ids=cmd_id)
def test_read_only_git_every_command_no_crash(proj: Path, args: tuple[str, ...]) -> None:
    """Readers work; writers refuse in one line; nothing in the repository changes."""
    before = state(proj)
    proc = run(proj, *args, prefix=read_only_prefix(proj))
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr, proc.stderr
    if args[0] != "gitignore" and args[:2] != ("spawn", "a task"):
        # gitignore fix and spawn write into the worktree (not .git) by design
        assert state(proj)["refs"] == before["refs"]


@READ_ONLY
def test_read_only_git_audit_lists_the_trail_in_place(proj: Path) -> None:
    """The trail is read where it lies: audit.db read-only plus the journal's pending events."""
    assert run(proj, "backup", "list").returncode == 0
    assert run(proj, "audit").returncode == 0  # moves the journal into audit.db
    assert run(proj, "doctor").returncode in (0, 1)  # one event left in the journal
    writable = run(proj, "audit", "--format", "json", "-n", "0").stdout
    before = state(proj)
    journal = (proj / ".git" / "ossa-hooks" / "audit.journal").read_bytes()
    proc = run(proj, "audit", "-n", "0", "--format", "json", prefix=read_only_prefix(proj))
    assert proc.returncode == 0, proc.stderr
    import json

    names = [e["name"] for e in json.loads(proc.stdout)]
    # what the writable audit listed, then the writable audit's own event (still journaled)
    assert names == [*(e["name"] for e in json.loads(writable)), "audit"]
    assert names[-3:] == ["audit", "doctor", "audit"]
    assert (proj / ".git" / "ossa-hooks" / "audit.journal").read_bytes() == journal
    assert state(proj) == before


@READ_ONLY
def test_read_only_git_doctor_reads_healthy_databases_as_healthy(proj: Path) -> None:
    assert run(proj, "audit").returncode == 0  # audit.db exists
    proc = run(proj, "doctor", prefix=read_only_prefix(proj))
    assert f"ok      {proj / '.git' / 'ossa-hooks' / 'audit.db'}: database readable" in proc.stdout
    assert "problem" not in proc.stdout, proc.stdout


# --- corrupt and locked state databases ------------------------------------------------------


DB_COMMANDS = {
    "budget.db": [("budget", "report"), ("worktree", "list"), ("run", "post-merge", "0")],
    "agents.db": [("agents", "list")],
    "workflow.db": [("workflow", "status")],
    "memory.db": [("workflow", "memory"), ("workflow", "memory", "login bug")],
    "audit.db": [("audit",)],
}


@pytest.mark.parametrize(("db", "args"), [(db, a) for db, cmds in DB_COMMANDS.items()
                                          for a in cmds],
                         ids=lambda v: v if isinstance(v, str) else cmd_id(v))
def test_corrupt_database_named_with_the_fix(proj: Path, db: str, args: tuple[str, ...]) -> None:
    folder = proj / ".git" / "ossa-hooks"
    folder.mkdir(exist_ok=True)
    (folder / db).write_bytes(b"this is not a database " * 300)
    before = state(proj)
    proc = run(proj, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = assert_one_line(proc, str(folder / db), "corrupt", "ossa-hooks doctor --fix")
    assert "no memories" not in proc.stdout, line
    assert state(proj) == before


def test_doctor_names_a_corrupt_database_and_fix_moves_it_aside(proj: Path) -> None:
    folder = proj / ".git" / "ossa-hooks"
    folder.mkdir(exist_ok=True)
    junk = b"garbage " * 1000
    (folder / "memory.db").write_bytes(junk)
    proc = run(proj, "doctor")
    assert proc.returncode == 1
    assert f"problem {folder / 'memory.db'}: database is corrupt" in proc.stdout
    assert "(run `ossa-hooks doctor --fix`)" in proc.stdout
    fixed = run(proj, "doctor", "--fix", "--format", "json")
    moved = [p for p in folder.iterdir() if p.name.startswith("memory.db.corrupt-")]
    assert [p.read_bytes() for p in moved] == [junk]  # moved aside, never deleted
    assert "corrupt database moved to memory.db.corrupt-" in fixed.stdout
    again = run(proj, "workflow", "memory")
    assert again.returncode == 0 and "no memories found" in again.stdout


def test_a_locked_budget_db_holds_a_hook_about_a_second(proj: Path) -> None:
    from ossa_hooks.agents import budget
    from ossa_hooks.git import repo_paths

    budget.set_tip(repo_paths(proj), "agents/x/y", "0" * 40)  # creates the ledger
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('BEGIN EXCLUSIVE')\n"
         "c.execute('CREATE TABLE IF NOT EXISTS held (x)')\n"
         "print('held', flush=True); time.sleep(60)\n",
         str(proj / ".git" / "ossa-hooks" / "budget.db")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = run(proj, "run", "post-merge", "0")
        assert proc.returncode == 2
        assert_one_line(proc, "budget.db", "locked by another process", "waited 1 s")
    finally:
        holder.kill()
        holder.wait()


# --- an ASCII locale and bytes --------------------------------------------------------------


def ascii_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env.update({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""})
    return env


@pytest.mark.parametrize("args", [
    ("backup", "create"), ("backup", "list"), ("audit",), ("scan",), ("gitignore", "check"),
    ("worktree", "list"), ("doctor",),
], ids=cmd_id)
def test_ascii_locale_commands_work_with_non_ascii_names(proj: Path,
                                                         args: tuple[str, ...]) -> None:
    (proj / "ünïcode.txt").write_text("x\n")
    git(proj, "add", "ünïcode.txt")
    proc = run(proj, *args, env=ascii_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr


def test_ascii_locale_pre_commit_hook_passes_a_non_ascii_file(proj: Path) -> None:
    (proj / "ünïcode.txt").write_text("x\n")
    git(proj, "add", "ünïcode.txt", "README.md")
    proc = subprocess.run(["git", "commit", "-q", "-m", "ø"], cwd=proj, capture_output=True,
                          text=True, env=ascii_env(), check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_backup_show_quotes_a_newline_the_way_git_does(proj: Path) -> None:
    (proj / "two\nlines.txt").write_text("x\n")
    made = run(proj, "backup", "create")
    name = made.stdout.split()[-1]
    shown = run(proj, "backup", "show", name).stdout
    assert '    A "two\\nlines.txt"' in shown
    assert "two\nlines" not in shown
    listing = git(proj, "-c", "core.quotePath=false", "diff", "--name-only", "--root",
                  f"{name}^", name).stdout
    assert '"two\\nlines.txt"' in listing  # git's own spelling


def test_audit_in_a_repository_whose_path_is_not_utf8(tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9 repo")
    os.mkdir(folder)
    subprocess.run([b"git", b"init", b"-q"], cwd=folder, check=True)
    for _ in range(2):  # a second run must find the journal ingested, not stuck
        assert run(Path(os.fsdecode(folder)), "backup", "list").returncode == 0
        proc = run(Path(os.fsdecode(folder)), "audit", "--format", "json")
        assert proc.returncode == 0, proc.stderr
    journal = os.path.join(folder, b".git", b"ossa-hooks", b"audit.journal")
    assert not os.path.exists(journal) or os.path.getsize(journal) < 1000
    assert '"name": "backup"' in proc.stdout and '"name": "audit"' in proc.stdout


# --- sizes -------------------------------------------------------------------------------------


def test_200000_forbidden_patterns_reach_git_without_argv(proj: Path) -> None:
    patterns = "".join(f"    - 'p{i}/*.x'\n" for i in range(200_000))
    (proj / ".ossa-hooks.yaml").write_text(f"gitignore:\n  forbidden:\n{patterns}    - '*.pem'\n")
    (proj / "a.pem").write_text("k\n")
    git(proj, "add", "-f", "a.pem")
    proc = run(proj, "gitignore", "check", "--staged", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert '"pattern": "*.pem"' in proc.stdout and '"path": "a.pem"' in proc.stdout


def test_a_300_character_task_name_one_line_nothing_left(proj: Path) -> None:
    before = state(proj)
    proc = run(proj, "worktree", "create", "coder", "t" * 300)
    assert proc.returncode == 2
    assert_one_line(proc, "invalid TASK", "300 characters long (at most 64)")
    assert not (proj / ".worktrees").exists()
    assert state(proj) == before


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("install", "--repo", "/path/to/your/repo"),
    ("uninstall", "--repo", "/path/to/your/repo"),
    ("doctor", "--repo", "/path/to/your/repo"),
    ("gitignore", "--repo", "/path/to/your/repo", "check"),
    ("gitignore", "check", "--repo", "/path/to/your/repo"),
    ("gitignore", "fix", "--repo", "/path/to/your/repo"),
], ids=cmd_id)
def test_a_repo_option_that_does_not_exist(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = run(tmp_path, *args)
    assert proc.returncode == 2
    line = assert_one_line(proc, "not a git repository: /path/to/your/repo (no such folder")
    assert line.startswith("ossa-hooks: ")


@pytest.mark.parametrize("args", [("scan",), ("judge",), ("audit",), ("backup", "list"),
                                  ("worktree", "list"), ("run", "pre-commit")], ids=cmd_id)
def test_outside_a_repository_no_option_it_lacks(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = run(tmp_path, *args)
    assert proc.returncode == 2
    line = assert_one_line(proc, "not a git repository", "run it inside a repository")
    assert "--repo" not in line


def test_outside_a_repository_a_command_with_repo_names_it(tmp_path: Path) -> None:
    line = assert_one_line(run(tmp_path, "doctor"), "not a git repository")
    assert "or pass --repo PATH" in line


# --- the input side, generated -----------------------------------------------------------------

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

VALUES = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.booleans(),
    st.none(),
)
KEYS = ("version", "worktree_root", "integration_branch", "base_branch", "backup.keep",
        "backup.push", "secrets.max_file_size", "secrets.exclude", "judge.jobs",
        "judge.checks.tests.run", "judge.checks.tests.timeout", "budget.task",
        "workflow.agent_timeout", "workflow.memories", "gitignore.check_required")


def _yaml_for(key: str, value: object) -> str:
    import yaml

    parts = key.split(".")
    if key == "secrets.exclude":
        value = [value]
    doc: object = value
    for part in reversed(parts):
        doc = {part: doc}
    return str(yaml.safe_dump(doc, allow_unicode=True))


@SETTINGS
@given(key=st.sampled_from(KEYS), value=VALUES)
def test_any_config_value_loads_or_is_one_located_error(key: str, value: object) -> None:
    text = _yaml_for(key, value)
    try:
        data = config_mod.parse(text, ".ossa-hooks.yaml")
    except OssaError as e:
        assert e.message.startswith(".ossa-hooks.yaml:"), e.message
        assert f" {key}" in e.message or key.split(".")[0] in e.message, e.message
        assert "\n" not in e.message
        return
    cfg = config_mod.Config(data)
    got = cfg.get(key)
    if isinstance(got, float):
        assert got == got and abs(got) != float("inf")  # finite
    if key in ("backup.keep", "judge.jobs", "budget.task", "workflow.memories"):
        assert got >= 0
    if key in ("secrets.max_file_size", "workflow.agent_timeout", "judge.checks.tests.timeout"):
        assert got is None or got > 0
    if key == "judge.checks.tests.run":
        assert got.strip()
    if key == "version":
        assert got == 1
    if key == "worktree_root":
        assert not os.path.isabs(got) and not os.path.normpath(got).startswith("..")


@SETTINGS
@given(name=st.text(min_size=0, max_size=120))
def test_any_task_name_is_valid_for_git_and_the_file_system_or_refused(name: str) -> None:
    from ossa_hooks.worktree.records import folder_name
    from ossa_hooks.worktree.records import validate_name

    try:
        validate_name("TASK", name)
    except OssaError as e:
        assert "\n" not in e.message and e.message.startswith("invalid TASK")
        return
    assert len(os.fsencode(folder_name("r" * 64, "coder", name))) <= 255
    ok = subprocess.run(["git", "check-ref-format", "--branch", f"agents/coder/{name}"],
                        capture_output=True, check=False)
    assert ok.returncode == 0


@SETTINGS
@given(path=st.text(min_size=1, max_size=60).filter(lambda p: "\0" not in p))
def test_any_repo_path_is_a_repository_or_one_line(path: str, tmp_path: Path) -> None:
    from ossa_hooks import git as git_mod

    where = str(tmp_path / path) if not path.startswith("/") else path
    try:
        git_mod.repo_paths(where, option="--repo")
    except OssaError as e:
        assert "\n" not in e.message and e.message.startswith("not a git repository: ")
