"""ossa-hooks beside the real hook managers: husky 9 (npm), lefthook (PyPI), pre-commit (PyPI).

For each installation order: the earlier manager's hook still runs, ossa's actions run exactly
once, a planted GitHub token is refused, ``doctor`` tells the truth, and ``uninstall`` puts
every file back byte for byte, mode included. lefthook and pre-commit come with the ``tests``
extra; husky is installed by npm once into a cache folder (skipped when npm or its registry
cannot be reached).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

BIN = Path(sys.executable).parent
LEFTHOOK = BIN / "lefthook"
PRE_COMMIT = BIN / "pre-commit"
# Read at import time: the fixtures give each test its own HOME.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ossa-hooks-tests"

CONFIG = ("hooks:\n  pre-commit: [ossa-secrets, ossa-gitignore]\n  post-checkout: [ossa-backup]\n"
          "  pre-push: []\n  post-merge: []\n  pre-rebase: []\n")


@pytest.fixture(scope="session")
def husky() -> Path:
    """husky 9's ``bin.js`` (what ``npx husky`` runs), installed by npm into the cache."""
    target = CACHE / "husky9"
    bin_js = target / "node_modules" / "husky" / "bin.js"
    if bin_js.exists():
        return bin_js
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("husky comes from npm, and npm/node are not installed")
    target.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(["npm", "install", "--prefix", str(target), "--no-audit",
                               "--no-fund", "husky@9"], capture_output=True, text=True,
                              timeout=300, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("npm could not reach its registry to install husky (timed out)")
    if proc.returncode != 0 or not bin_js.exists():
        pytest.skip(f"npm could not install husky: {proc.stderr.strip().splitlines()[-1:]}")
    return bin_js


@pytest.fixture
def lefthook() -> Path:
    if not LEFTHOOK.exists():
        pytest.skip("lefthook comes from PyPI with the tests extra: pip install -e '.[tests]'")
    return LEFTHOOK


@pytest.fixture
def repo(committed_repo: Path) -> Iterator[Path]:
    (committed_repo / ".ossa-hooks.yaml").write_text(CONFIG)
    yield committed_repo


def token() -> str:
    """A GitHub personal access token's shape, new each run."""
    alnum = string.ascii_letters + string.digits
    return "ghp_" + "".join(secrets.choice(alnum) for _ in range(36))


def files(*places: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in the folders (or the files) given: bytes and mode, for byte-for-byte."""
    found: dict[str, tuple[bytes, int]] = {}
    for place in places:
        paths = sorted(place.iterdir()) if place.is_dir() else [place] if place.exists() else []
        for p in paths:
            if p.is_file():
                found[str(p)] = (p.read_bytes(), p.stat().st_mode)
    return found


def hook_runs(repo: Path, name: str = "pre-commit") -> int:
    proc = ossa(repo, "audit", "--format", "json", "-n", "0")
    return sum(1 for e in json.loads(proc.stdout) if e["kind"] == "hook" and e["name"] == name)


def commit_ok(repo: Path, name: str) -> None:
    """A clean commit passes: ossa's pre-commit actions ran exactly once."""
    before = hook_runs(repo)
    (repo / name).write_text(f"{name}\n")
    git(repo, "add", name)
    proc = git(repo, "commit", "-m", name, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hook_runs(repo) == before + 1


def token_refused(repo: Path) -> None:
    (repo / "settings.py").write_text(f'GITHUB = "{token()}"\n')
    git(repo, "add", "settings.py")
    proc = git(repo, "commit", "-m", "token", check=False)
    assert proc.returncode != 0
    assert "GitHub Token" in proc.stdout + proc.stderr
    git(repo, "rm", "-q", "--cached", "settings.py")
    (repo / "settings.py").unlink()


def doctor(repo: Path) -> tuple[int, str]:
    proc = ossa(repo, "doctor")
    return proc.returncode, proc.stdout


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


# --- husky ------------------------------------------------------------------------------


def husky_init(repo: Path, bin_js: Path, log: Path) -> None:
    subprocess.run(["node", str(bin_js)], cwd=repo, check=True, capture_output=True)
    (repo / ".husky" / "pre-commit").write_text(f'echo "husky $(basename "$0")" >> "{log}"\n')


def test_husky_then_ossa_then_npx_husky_again(repo: Path, husky: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    husky_init(repo, husky, log)
    folder = repo / ".husky" / "_"
    before = files(folder)
    proc = ossa(repo, "install")
    assert proc.returncode == 0, proc.stderr
    assert "husky's wrapper kept as pre-commit.ossa-chained, runs first" in proc.stdout
    commit_ok(repo, "a.txt")
    assert log_lines(log) == ["husky pre-commit"]  # husky found its script by name
    token_refused(repo)
    assert doctor(repo)[0] == 0

    # npm's prepare script runs `npx husky` again: the wrappers replace the shims.
    subprocess.run(["node", str(husky)], cwd=repo, check=True, capture_output=True)
    code, out = doctor(repo)
    assert code == 1
    assert ("pre-commit: husky wrote its hook over the shim; ossa's actions do not run"
            " (run `ossa-hooks install`)") in out
    proc = ossa(repo, "install")
    assert proc.returncode == 0, proc.stderr
    assert "husky had written its hook over the shim again" in proc.stdout
    commit_ok(repo, "b.txt")
    assert log_lines(log)[-1] == "husky pre-commit"
    assert len(log_lines(log)) == 3  # a, the refused token (husky ran first), b
    assert doctor(repo)[0] == 0

    assert ossa(repo, "uninstall").returncode == 0
    assert files(folder) == before


def test_ossa_then_husky(repo: Path, husky: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    default = repo / ".git" / "hooks"
    before_default = files(default)
    assert ossa(repo, "install").returncode == 0
    husky_init(repo, husky, log)  # core.hooksPath=.husky/_: the shims in .git/hooks stop
    folder = repo / ".husky" / "_"
    before = files(folder)
    code, out = doctor(repo)
    assert code == 1
    assert "pre-commit: " in out and "is husky's wrapper; ossa's actions do not run" in out
    assert ossa(repo, "install").returncode == 0
    commit_ok(repo, "a.txt")
    assert log_lines(log) == ["husky pre-commit"]
    token_refused(repo)
    assert doctor(repo)[0] == 0
    proc = ossa(repo, "uninstall")
    assert proc.returncode == 0
    assert files(folder) == before
    assert files(default) == before_default  # the shims husky left behind go too


# --- lefthook ---------------------------------------------------------------------------


def lefthook_config(repo: Path, log: Path) -> None:
    (repo / "lefthook.yml").write_text(
        "pre-commit:\n  commands:\n    team:\n"
        f"      run: echo lefthook-team >> '{log}'\n")


def test_lefthook_then_ossa(repo: Path, lefthook: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    lefthook_config(repo, log)
    subprocess.run([str(lefthook), "install"], cwd=repo, check=True, capture_output=True)
    hooks = repo / ".git" / "hooks"
    before = files(hooks, repo / "lefthook-local.yml")
    proc = ossa(repo, "install")
    assert proc.returncode == 0, proc.stderr
    assert "pre-commit: installed (as pre-commit.ossa, run by lefthook" in proc.stdout
    assert "lefthook-local.yml: runs ossa-hooks for pre-commit" in proc.stdout
    commit_ok(repo, "a.txt")
    assert log_lines(log) == ["lefthook-team"]
    token_refused(repo)
    assert doctor(repo)[0] == 0
    # lefthook installing again (it does when its configuration changes) keeps the block.
    subprocess.run([str(lefthook), "install", "--force"], cwd=repo, check=True,
                   capture_output=True)
    commit_ok(repo, "b.txt")
    assert log_lines(log) == ["lefthook-team"] * 3
    assert doctor(repo)[0] == 0
    # lefthook-local.yml is per worktree: a linked worktree needs its own.
    git(repo, "add", "lefthook.yml")
    git(repo, "commit", "-q", "--no-verify", "-m", "lefthook")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    code, out = doctor(repo)
    assert code == 1
    assert (f"missing {linked}: pre-commit: lefthook runs this hook and its configuration does"
            " not run ossa-hooks (run `ossa-hooks install`)") in out
    assert ossa(linked, "install").returncode == 0
    assert doctor(repo)[0] == 0
    commit_ok(linked, "c.txt")
    proc = ossa(linked, "uninstall")  # from any worktree: every worktree's block goes
    assert proc.returncode == 0
    assert f"lefthook-local.yml in {repo}: ossa-hooks block removed" in proc.stdout
    assert not (linked / "lefthook-local.yml").exists()
    assert files(hooks, repo / "lefthook-local.yml") == before


def test_hook_then_ossa_then_lefthook_install_force(repo: Path, lefthook: Path,
                                                    tmp_path: Path) -> None:
    log = tmp_path / "log"
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\necho mine >> '{log}'\n")
    (hooks / "pre-commit").chmod(0o750)
    mine = files(hooks / "pre-commit")[str(hooks / "pre-commit")]
    assert ossa(repo, "install").returncode == 0
    lefthook_config(repo, log)
    subprocess.run([str(lefthook), "install", "--force"], cwd=repo, check=True,
                   capture_output=True)
    code, out = doctor(repo)
    assert code == 1
    assert "pre-commit: lefthook moved the shim to pre-commit.old and never runs it" in out

    proc = ossa(repo, "install")
    assert proc.returncode == 0, proc.stderr
    assert "lefthook had moved the shim to pre-commit.old" in proc.stdout
    assert not (hooks / "pre-commit.old").exists()
    commit_ok(repo, "a.txt")
    assert sorted(log_lines(log)) == ["lefthook-team", "mine"]
    token_refused(repo)
    assert doctor(repo)[0] == 0
    lefthook_script = (hooks / "pre-commit").read_bytes()
    proc = ossa(repo, "uninstall")
    assert "the earlier hook is back as pre-commit.old (where lefthook keeps it)" in proc.stdout
    assert files(hooks / "pre-commit.old")[str(hooks / "pre-commit.old")] == mine
    assert (hooks / "pre-commit").read_bytes() == lefthook_script
    assert not (repo / "lefthook-local.yml").exists()
    # lefthook's own uninstall brings the user's hook back where it was.
    subprocess.run([str(lefthook), "uninstall"], cwd=repo, check=True, capture_output=True)
    assert files(hooks / "pre-commit")[str(hooks / "pre-commit")] == mine


def test_lefthook_local_with_content_of_its_own(repo: Path, lefthook: Path,
                                                tmp_path: Path) -> None:
    log = tmp_path / "log"
    lefthook_config(repo, log)
    subprocess.run([str(lefthook), "install"], cwd=repo, check=True, capture_output=True)
    local = repo / "lefthook-local.yml"
    local.write_text("post-merge:\n  commands:\n    mine:\n      run: 'true'\n")
    before = files(local)
    assert ossa(repo, "install").returncode == 0
    assert local.read_text().startswith("post-merge:\n")
    commit_ok(repo, "a.txt")
    assert ossa(repo, "uninstall").returncode == 0
    assert files(local) == before

    # The user already has a pre-commit section there: refused, the exact lines printed.
    local.write_text("pre-commit:\n  commands:\n    mine:\n      run: 'true'\n")
    proc = ossa(repo, "install")
    assert proc.returncode == 2
    assert "lefthook-local.yml already defines pre-commit" in proc.stderr
    assert "    ossa-hooks:\n      run: " in proc.stdout
    assert local.read_text() == "pre-commit:\n  commands:\n    mine:\n      run: 'true'\n"


def test_lefthook_hands_on_gits_arguments(repo: Path, lefthook: Path, tmp_path: Path) -> None:
    (repo / "lefthook.yml").write_text(
        "post-checkout:\n  commands:\n    team:\n      run: 'true'\n"
        "pre-rebase:\n  commands:\n    team:\n      run: 'true'\n")
    subprocess.run([str(lefthook), "install"], cwd=repo, check=True, capture_output=True)
    assert ossa(repo, "install").returncode == 0
    old = git(repo, "rev-parse", "HEAD").stdout.strip()
    git(repo, "checkout", "-q", "-b", "side")
    git(repo, "commit", "-q", "--allow-empty", "-m", "side")
    git(repo, "checkout", "-q", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "main")
    git(repo, "checkout", "-q", "side")
    git(repo, "rebase", "-q", "main")  # pre-rebase gets one argument

    def args(name: str) -> list[str]:
        proc = ossa(repo, "audit", "--format", "json", "-n", "0", "--name", name)
        return [e["detail"]["args"] for e in json.loads(proc.stdout)]

    assert args("post-checkout")[0] == [old, old, "1"]
    assert args("pre-rebase") == [["main"]]


# --- pre-commit -------------------------------------------------------------------------


def pre_commit_config(repo: Path, log: Path, ids: str = "") -> None:
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: team\n    name: team\n"
        f"    entry: sh -c 'echo pre-commit-team >> \"{log}\"'\n"
        "    language: system\n    always_run: true\n    pass_filenames: false\n" + ids)
    git(repo, "add", ".pre-commit-config.yaml")


def pre_commit(repo: Path, *args: str) -> None:
    env = dict(os.environ, PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"))
    subprocess.run([str(PRE_COMMIT), *args], cwd=repo, check=True, capture_output=True, env=env)


def test_hook_then_ossa_then_pre_commit_install(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\necho mine >> '{log}'\n")
    (hooks / "pre-commit").chmod(0o750)
    before = files(hooks)
    assert ossa(repo, "install").returncode == 0
    pre_commit_config(repo, log)
    pre_commit(repo, "install")  # moves the shim to pre-commit.legacy: the user's hook is safe
    commit_ok(repo, "a.txt")
    assert log_lines(log) == ["mine", "pre-commit-team"]
    token_refused(repo)
    code, out = doctor(repo)
    assert code == 0
    assert "pre-commit: shim pre-commit.legacy (run by pre-commit's migration mode)" in out
    assert ossa(repo, "uninstall").returncode == 0
    assert (hooks / "pre-commit.legacy").read_bytes() == before[str(hooks / "pre-commit")][0]
    pre_commit(repo, "uninstall")
    assert files(hooks) == before


def test_pre_commit_install_then_ossa(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    hooks = repo / ".git" / "hooks"
    pre_commit_config(repo, log)
    pre_commit(repo, "install")
    before = files(hooks)
    proc = ossa(repo, "install")
    assert proc.returncode == 0, proc.stderr
    assert "pre-commit: installed (as pre-commit.legacy, which pre-commit's script runs first)" \
        in proc.stdout
    commit_ok(repo, "a.txt")  # no "bug: pre-commit's script is installed in migration mode"
    assert log_lines(log) == ["pre-commit-team"]
    token_refused(repo)
    assert doctor(repo)[0] == 0
    assert ossa(repo, "uninstall").returncode == 0
    assert files(hooks) == before


def test_ids_in_pre_commit_config_and_a_shim_run_twice(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    hooks = repo / ".git" / "hooks"
    exe = Path(sys.executable).with_name("ossa-hooks")
    ids = "".join(f"  - id: {i}\n    name: {i}\n    entry: {exe} run {i}\n    language: system\n"
                  "    always_run: true\n    pass_filenames: false\n"
                  for i in ("ossa-secrets", "ossa-gitignore"))
    assert ossa(repo, "install").returncode == 0
    pre_commit_config(repo, log, ids)
    pre_commit(repo, "install")
    code, out = doctor(repo)
    assert code == 1
    assert ("pre-commit: ossa's actions run twice: shim pre-commit.legacy and pre-commit"
            " (ossa-secrets, ossa-gitignore) (run `ossa-hooks install`)") in out
    proc = ossa(repo, "install")
    assert "pre-commit: removed the shim in pre-commit.legacy: it ran them a second time" \
        in proc.stdout
    assert not (hooks / "pre-commit.legacy").exists()
    code, out = doctor(repo)
    assert code == 0
    assert "pre-commit: run by pre-commit's config: ossa-secrets, ossa-gitignore" in out
    before = hook_runs(repo, "ossa-secrets")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "a")
    assert hook_runs(repo, "ossa-secrets") == before + 1
    assert hook_runs(repo) == 0  # no shim ran the pre-commit hook type
    token_refused(repo)


def test_huskys_wrapper_renamed_by_an_older_ossa(repo: Path, husky: Path, tmp_path: Path) -> None:
    """The issue's first report: an older ossa-hooks kept husky's wrapper as HOOK.legacy, where
    it looks for `.husky/pre-commit.legacy` and silently runs nothing; `npx husky` then wrote
    the wrappers again and `install` refused."""
    log = tmp_path / "log"
    husky_init(repo, husky, log)
    folder = repo / ".husky" / "_"
    wrapper = folder / "pre-commit"
    os.replace(wrapper, folder / "pre-commit.legacy")
    wrapper.write_text(
        "#!/bin/sh\n# ossa-hooks-shim-version: 2\nOSSA_HOOK_TYPE=pre-commit\n"
        f"OSSA_PYTHON={sys.executable}\n"
        'if [ -x "$0.legacy" ]; then "$0.legacy" "$@" || exit $?; fi\n'
        'exec "$OSSA_PYTHON" -m ossa_hooks run "$OSSA_HOOK_TYPE" "$@"\n')
    wrapper.chmod(0o755)
    code, out = doctor(repo)
    assert code == 1
    assert "pre-commit: husky's scripts do not run (its wrapper was renamed)" in out
    subprocess.run(["node", str(husky)], cwd=repo, check=True, capture_output=True)
    proc = ossa(repo, "install")
    assert proc.returncode == 0, proc.stderr
    assert "removed pre-commit.legacy, a copy of pre-commit an older ossa-hooks had kept" \
        in proc.stdout
    commit_ok(repo, "a.txt")
    assert log_lines(log) == ["husky pre-commit"]
    assert doctor(repo)[0] == 0
