"""install / uninstall on real repositories: shims, chaining, core.hooksPath, worktrees."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import git
from conftest import ossa

HOOKS = ("post-checkout", "pre-commit", "pre-push", "post-merge", "pre-rebase")

# A hook written by someone else: records its arguments and stdin, fails on demand.
FOREIGN = """#!/bin/sh
echo "args:$*" >> "{log}"
if [ "$(basename "$0")" = pre-push.ossa-chained ] || [ "$(basename "$0")" = pre-push ]; then
    cat >> "{log}"
fi
[ -e "{fail}" ] && exit 3
exit 0
"""


def write_foreign(path: Path, log: Path, fail: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = FOREIGN.format(log=log, fail=fail).encode()
    path.write_bytes(data)
    path.chmod(0o755)
    return data


def quiet_config(repo: Path) -> None:
    """No actions, so these tests see only the install mechanics."""
    (repo / ".ossa-hooks.yaml").write_text(
        "hooks:\n  pre-commit: []\n  pre-push: []\n  post-checkout: []\n"
        "  post-merge: []\n  pre-rebase: []\n"
    )


def events(repo: Path) -> list[dict[str, object]]:
    proc = ossa(repo, "audit", "--format", "json", "-n", "0")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def hook_events(repo: Path) -> list[dict[str, object]]:
    return [e for e in events(repo) if e["kind"] == "hook"]


def test_install_writes_shims_config_and_gitignore(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "install")
    assert proc.returncode == 0, proc.stderr
    for hook in HOOKS:
        path = committed_repo / ".git" / "hooks" / hook
        assert path.stat().st_mode & stat.S_IXUSR
        assert sys.executable in path.read_text() or str(Path(sys.executable)) in path.read_text()
    assert (committed_repo / ".ossa-hooks.yaml").exists()
    ignored = (committed_repo / ".gitignore").read_text().splitlines()
    for entry in (".env", ".worktrees/", ".agents-workspace/logs/"):
        assert ignored.count(entry) == 1
    assert "wrote .ossa-hooks.yaml" in proc.stdout


def test_install_is_idempotent(committed_repo: Path) -> None:
    (committed_repo / ".gitignore").write_text("node_modules/\n.env\n")
    assert ossa(committed_repo, "install").returncode == 0
    first = {h: (committed_repo / ".git" / "hooks" / h).read_bytes() for h in HOOKS}
    gitignore = (committed_repo / ".gitignore").read_bytes()
    proc = ossa(committed_repo, "install")
    assert proc.returncode == 0
    assert "already installed" in proc.stdout
    assert {h: (committed_repo / ".git" / "hooks" / h).read_bytes() for h in HOOKS} == first
    assert (committed_repo / ".gitignore").read_bytes() == gitignore
    lines = gitignore.decode().splitlines()
    assert lines[:2] == ["node_modules/", ".env"]
    assert lines.count(".env") == 1
    assert not list((committed_repo / ".git" / "hooks").glob("*.ossa-chained"))


def test_commit_runs_the_hook_and_records_an_event(committed_repo: Path) -> None:
    quiet_config(committed_repo)
    assert ossa(committed_repo, "install").returncode == 0
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x")
    names = [e["name"] for e in hook_events(committed_repo)]
    assert names == ["pre-commit"]


def test_existing_hook_runs_first_and_its_failure_blocks(committed_repo: Path,
                                                         tmp_path: Path) -> None:
    quiet_config(committed_repo)
    hooks = committed_repo / ".git" / "hooks"
    log, fail = tmp_path / "log", tmp_path / "fail"
    original = write_foreign(hooks / "pre-commit", log, fail)
    mode = (hooks / "pre-commit").stat().st_mode
    proc = ossa(committed_repo, "install")
    assert "kept as pre-commit.ossa-chained" in proc.stdout
    assert (hooks / "pre-commit.ossa-chained").read_bytes() == original

    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "one")
    assert log.read_text() == "args:\n"
    assert len(hook_events(committed_repo)) == 1

    fail.touch()
    proc = git(committed_repo, "commit", "-q", "--allow-empty", "-m", "two", check=False)
    assert proc.returncode != 0
    assert len(hook_events(committed_repo)) == 1  # ours did not run after the failure

    assert ossa(committed_repo, "uninstall").returncode == 0
    assert (hooks / "pre-commit").read_bytes() == original
    assert (hooks / "pre-commit").stat().st_mode == mode
    assert not (hooks / "pre-commit.ossa-chained").exists()
    assert not (hooks / "post-merge").exists()


def test_existing_pre_push_gets_arguments_and_stdin(committed_repo: Path, tmp_path: Path) -> None:
    quiet_config(committed_repo)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(committed_repo, "remote", "add", "origin", str(remote))
    log, fail = tmp_path / "log", tmp_path / "fail"
    write_foreign(committed_repo / ".git" / "hooks" / "pre-push", log, fail)
    assert ossa(committed_repo, "install").returncode == 0
    git(committed_repo, "push", "-q", "origin", "main")
    head = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    text = log.read_text()
    assert f"args:origin {remote}" in text
    assert f"refs/heads/main {head} refs/heads/main" in text
    pushes = [e for e in hook_events(committed_repo) if e["name"] == "pre-push"]
    assert pushes and pushes[0]["detail"]["refs"] == ["refs/heads/main"]  # type: ignore[index]


def test_uninstall_without_a_previous_hook_removes_only_ours(committed_repo: Path) -> None:
    hooks = committed_repo / ".git" / "hooks"
    assert ossa(committed_repo, "install", "-t", "pre-commit").returncode == 0
    (hooks / "commit-msg").write_text("#!/bin/sh\nexit 0\n")
    proc = ossa(committed_repo, "uninstall")
    assert proc.returncode == 0
    assert "pre-commit: removed" in proc.stdout
    assert "pre-push: not installed" in proc.stdout
    assert not (hooks / "pre-commit").exists()
    assert (hooks / "commit-msg").exists()
    assert (committed_repo / ".ossa-hooks.yaml").exists()  # the user's config stays


def test_foreign_hook_with_existing_chained_is_refused_then_forced(committed_repo: Path,
                                                                   tmp_path: Path) -> None:
    hooks = committed_repo / ".git" / "hooks"
    legacy = write_foreign(hooks / "pre-commit.ossa-chained", tmp_path / "a", tmp_path / "f")
    current = write_foreign(hooks / "pre-commit", tmp_path / "b", tmp_path / "f")
    proc = ossa(committed_repo, "install")
    assert proc.returncode == 2
    assert "pre-commit.ossa-chained already exists" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (hooks / "pre-commit").read_bytes() == current
    assert not (hooks / "pre-push").exists()  # nothing half-installed
    proc = ossa(committed_repo, "install", "--force")
    assert proc.returncode == 0, proc.stderr
    assert (hooks / "pre-commit.ossa-replaced").read_bytes() == current
    assert (hooks / "pre-commit.ossa-chained").read_bytes() == legacy


def test_core_hooks_path_is_honoured(committed_repo: Path) -> None:
    quiet_config(committed_repo)
    git(committed_repo, "config", "core.hooksPath", ".githooks")
    assert ossa(committed_repo, "install").returncode == 0
    assert (committed_repo / ".githooks" / "pre-commit").exists()
    assert not (committed_repo / ".git" / "hooks" / "pre-commit").exists()
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x")
    assert [e["name"] for e in hook_events(committed_repo)] == ["pre-commit"]


def test_install_from_a_linked_worktree_and_a_sub_folder(committed_repo: Path,
                                                         tmp_path: Path) -> None:
    quiet_config(committed_repo)
    git(committed_repo, "add", ".ossa-hooks.yaml")
    git(committed_repo, "commit", "-q", "-m", "config")
    linked = tmp_path / "linked wt"
    git(committed_repo, "worktree", "add", "-q", "-b", "side", str(linked))
    sub = linked / "a" / "b"
    sub.mkdir(parents=True)
    proc = ossa(sub, "install")
    assert proc.returncode == 0, proc.stderr
    # Hooks are shared: they land in the common dir and run in every worktree.
    assert (committed_repo / ".git" / "hooks" / "pre-commit").exists()
    assert (linked / ".gitignore").exists()
    git(sub, "commit", "-q", "--allow-empty", "-m", "from linked")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "from main")
    worktrees = sorted(str(e["worktree"]) for e in hook_events(committed_repo))
    assert worktrees == sorted([str(committed_repo), str(linked)])


def test_repository_without_commits(repo: Path) -> None:
    quiet_config(repo)
    assert ossa(repo, "install").returncode == 0
    git(repo, "add", ".gitignore", ".ossa-hooks.yaml")
    git(repo, "commit", "-q", "-m", "first")
    assert [e["name"] for e in hook_events(repo)] == ["pre-commit"]


def test_outside_a_repository_is_a_one_line_error(tmp_path: Path) -> None:
    proc = ossa(tmp_path, "install")
    assert proc.returncode == 2
    assert proc.stderr.startswith("ossa-hooks: not a git repository:")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_hooks_run_from_a_shell_without_the_venv_on_path(committed_repo: Path) -> None:
    quiet_config(committed_repo)
    assert ossa(committed_repo, "install").returncode == 0
    env = dict(os.environ, PATH="/usr/bin:/bin")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x", env=env)
    assert [e["name"] for e in hook_events(committed_repo)] == ["pre-commit"]


def test_a_vanished_interpreter_fails_with_the_fix(committed_repo: Path) -> None:
    quiet_config(committed_repo)
    assert ossa(committed_repo, "install").returncode == 0
    shim = committed_repo / ".git" / "hooks" / "pre-commit"
    text = shim.read_text().replace(f"OSSA_PYTHON={sys.executable}", "OSSA_PYTHON=/gone/python")
    text = "\n".join(
        "OSSA_PYTHON=/gone/python" if line.startswith("OSSA_PYTHON=") else line
        for line in text.splitlines()
    )
    shim.write_text(text + "\n")
    env = dict(os.environ, PATH="/usr/bin:/bin")
    proc = git(committed_repo, "commit", "--allow-empty", "-m", "x", env=env, check=False)
    assert proc.returncode != 0
    assert "/gone/python is gone" in proc.stderr
    assert "ossa-hooks install" in proc.stderr


def test_unknown_hook_type_is_a_usage_error(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "install", "-t", "commit-msg")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def _set_shim_var(shim: Path, name: str, value: str) -> None:
    lines = shim.read_text().splitlines()
    shim.write_text("\n".join(f"{name}={value}" if line.startswith(f"{name}=") else line
                              for line in lines) + "\n")


def test_a_stale_recorded_module_path_falls_back_to_a_normal_start(committed_repo: Path,
                                                                  tmp_path: Path) -> None:
    quiet_config(committed_repo)
    assert ossa(committed_repo, "install").returncode == 0
    shim = committed_repo / ".git" / "hooks" / "pre-commit"
    assert "OSSA_SYSPATH=" in shim.read_text()
    _set_shim_var(shim, "OSSA_SYSPATH", str(tmp_path / "gone"))
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x")
    _set_shim_var(shim, "OSSA_SYSPATH", "''")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "y")
    assert [e["name"] for e in hook_events(committed_repo)] == ["pre-commit", "pre-commit"]


def test_modules_in_the_repository_do_not_shadow_ours(committed_repo: Path) -> None:
    quiet_config(committed_repo)
    assert ossa(committed_repo, "install").returncode == 0
    for name in ("ossa_hooks/__init__.py", "sqlite3.py", "fcntl.py"):
        (committed_repo / name).parent.mkdir(exist_ok=True)
        (committed_repo / name).write_text("raise SystemExit('imported from the repository')\n")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x")
    _set_shim_var(committed_repo / ".git" / "hooks" / "pre-commit", "OSSA_SYSPATH", "''")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "y")
    assert [e["name"] for e in hook_events(committed_repo)] == ["pre-commit", "pre-commit"]


def test_installed_with_python_m_from_inside_the_repository_imports_nothing_from_it(
        committed_repo: Path) -> None:
    quiet_config(committed_repo)
    proc = subprocess.run([sys.executable, "-m", "ossa_hooks", "install"], cwd=committed_repo,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    shim = (committed_repo / ".git" / "hooks" / "pre-commit").read_text()
    assert str(committed_repo) not in shim
    (committed_repo / "fcntl.py").write_text("raise SystemExit('imported from the repository')\n")
    proc = git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x", check=False)
    assert proc.returncode == 0, proc.stderr
    assert [e["name"] for e in hook_events(committed_repo)] == ["pre-commit"]


def test_shims_start_the_prefetched_questions_only_where_an_action_asks_them(
        committed_repo: Path) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    hooks = committed_repo / ".git" / "hooks"
    for hook_type in ("post-checkout", "pre-rebase"):
        text = (hooks / hook_type).read_text()
        assert '| { OSSA_PREFETCH=stdin; ossa_start "$@"; }' in text
        assert "backup-tracked" in text and "backup-untracked" in text
    for hook_type in ("pre-commit", "pre-push", "post-merge"):
        text = (hooks / hook_type).read_text()
        assert text.rstrip().endswith('ossa_start "$@"') and "OSSA_PREFETCH=stdin" not in text



def older_shim(hook_type: str) -> str:
    """A shim as ossa-hooks wrote it before version 3: it chained ``$0.legacy``."""
    return (f"#!/bin/sh\n# ossa-hooks shim: installed by `ossa-hooks install`\n"
            f"# ossa-hooks-shim-version: 2\nOSSA_HOOK_TYPE={hook_type}\n"
            f"OSSA_PYTHON={sys.executable}\n"
            'if [ -x "$0.legacy" ]; then "$0.legacy" "$@" || exit $?; fi\n'
            'exec "$OSSA_PYTHON" -m ossa_hooks run "$OSSA_HOOK_TYPE" "$@"\n')


def test_a_legacy_hook_kept_by_an_older_ossa_is_renamed(committed_repo: Path,
                                                        tmp_path: Path) -> None:
    quiet_config(committed_repo)
    hooks = committed_repo / ".git" / "hooks"
    log = tmp_path / "log"
    original = write_foreign(hooks / "pre-commit.legacy", log, tmp_path / "fail")
    (hooks / "pre-commit.legacy").chmod(0o700)
    (hooks / "pre-commit").write_text(older_shim("pre-commit"))
    (hooks / "pre-commit").chmod(0o755)
    proc = ossa(committed_repo, "install", "-t", "pre-commit")
    assert proc.returncode == 0, proc.stderr
    assert ("pre-commit: updated (pre-commit.legacy (kept by an older ossa-hooks) renamed"
            " pre-commit.ossa-chained)") in proc.stdout
    assert not (hooks / "pre-commit.legacy").exists()
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "x")
    assert log.read_text() == "args:\n"  # ran once, first
    assert len(hook_events(committed_repo)) == 1
    assert ossa(committed_repo, "uninstall", "-t", "pre-commit").returncode == 0
    assert (hooks / "pre-commit").read_bytes() == original
    assert stat.S_IMODE((hooks / "pre-commit").stat().st_mode) == 0o700


def test_uninstall_of_an_older_shim_puts_its_legacy_hook_back(committed_repo: Path,
                                                              tmp_path: Path) -> None:
    hooks = committed_repo / ".git" / "hooks"
    original = write_foreign(hooks / "pre-push.legacy", tmp_path / "log", tmp_path / "fail")
    (hooks / "pre-push").write_text(older_shim("pre-push"))
    proc = ossa(committed_repo, "uninstall", "-t", "pre-push")
    assert "pre-push: removed; the earlier hook is back" in proc.stdout
    assert (hooks / "pre-push").read_bytes() == original
    assert not (hooks / "pre-push.legacy").exists()


def test_pre_commit_script_kept_by_an_older_ossa_goes_back_in_place(committed_repo: Path
                                                                   ) -> None:
    quiet_config(committed_repo)
    hooks = committed_repo / ".git" / "hooks"
    script = ("#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n"
              "exit 0\n")
    (hooks / "pre-commit.legacy").write_text(script)
    (hooks / "pre-commit.legacy").chmod(0o755)
    (hooks / "pre-commit").write_text(older_shim("pre-commit"))
    proc = ossa(committed_repo, "install", "-t", "pre-commit")
    assert proc.returncode == 0, proc.stderr
    assert "pre-commit's script put back as pre-commit" in proc.stdout
    assert (hooks / "pre-commit").read_text() == script
    assert "ossa-hooks-shim-version: 3" in (hooks / "pre-commit.legacy").read_text()
