"""The ``ossa-gitignore`` hook and ``ossa-hooks gitignore check|fix``, on real repositories."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ODD_NAME
from conftest import git
from conftest import ossa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks import config as config_mod
from ossa_hooks import git as git_mod
from ossa_hooks import gitignore

DEFAULT_FORBIDDEN = config_mod.defaults()["gitignore"]["forbidden"]
ONLY_THIS_HOOK = "hooks:\n  pre-commit: [ossa-gitignore]\n"


def write(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def commit(repo: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return git(repo, "commit", "-q", "-m", "change", *args, check=False, env=env)


_TEMPLATE: dict[str, Path] = {}


@pytest.fixture
def hooked(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with the pre-commit hook installed, running only ossa-gitignore, and the
    required .gitignore entries committed (as `ossa-hooks install` leaves it).

    Built once per test process and copied: the shim names the interpreter, not the folder.
    """
    if "hooked" not in _TEMPLATE:
        path = tmp_path_factory.mktemp("template") / ODD_NAME
        path.mkdir()
        git(path, "init", "-q")
        write(path / "README.md", "hello\n")
        write(path / ".ossa-hooks.yaml", ONLY_THIS_HOOK)
        r = ossa(path, "install", "-t", "pre-commit")
        assert r.returncode == 0, r.stderr
        git(path, "add", "README.md", ".ossa-hooks.yaml", ".gitignore")
        git(path, "commit", "-q", "-m", "ossa-hooks")
        _TEMPLATE["hooked"] = path
    repo = tmp_path / ODD_NAME
    shutil.copytree(_TEMPLATE["hooked"], repo, symlinks=True)
    return repo


def stage(repo: Path, *paths: str) -> None:
    for p in paths:
        write(repo / p)
    git(repo, "add", "-f", "--", *paths)  # -f: the installed .gitignore ignores some of them


def refused_line(path: str, pattern: str) -> str:
    return (f"{path}: matches forbidden pattern '{pattern}' (remove with git rm --cached "
            f"{shlex.quote(path)}; config gitignore.forbidden)")


# --- the hook through a real `git commit` ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        (".env", ".env"),
        ("config/deep/.env", ".env"),
        (".env.local", ".env.*"),
        ("app/.env.production", ".env.*"),
        ("server.pem", "*.pem"),
        ("tls/server.key", "*.key"),
        ("id_rsa", "id_rsa*"),
        ("keys/id_rsa_backup", "id_rsa*"),
        ("cert.p12", "*.p12"),
        ("credentials.json", "credentials.json"),
        ("gcp/credentials.json", "credentials.json"),
        (".worktrees/repo__coder__t1/main.py", ".worktrees/"),
        (".agents-workspace/logs/run.log", ".agents-workspace/logs/"),
        (".agents-workspace/metrics/day/m.json", ".agents-workspace/metrics/"),
    ],
)
def test_each_default_pattern_refuses_the_commit(hooked: Path, path: str, pattern: str) -> None:
    before = head(hooked)
    stage(hooked, path, "ok.txt")
    r = commit(hooked)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert refused_line(path, pattern) in lines
    assert ("ossa-gitignore: 1 staged path must never be committed: commit refused"
            " (skip once with SKIP=ossa-gitignore)") in lines
    assert head(hooked) == before


@pytest.mark.parametrize(
    "path",
    [
        ".env.example",
        "sub/.env.example",
        "env",
        "notes.env",
        ".envrc",
        "server.pem.md",
        "credentials.json.example",
        ".agents-workspace/data/notes.md",
        "docs/.worktrees-howto.md",
        # A pattern with a slash before its end is anchored to the top, as in .gitignore.
        "vendor/.agents-workspace/logs/keep.md",
    ],
)
def test_allowed_paths_commit(hooked: Path, path: str) -> None:
    stage(hooked, path)
    r = commit(hooked)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert git(hooked, "ls-files", "--", path).stdout.strip() == path


def test_several_paths_one_line_each_and_a_summary(hooked: Path) -> None:
    stage(hooked, ".env", "a/b.pem", ".env.example")
    r = commit(hooked)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        refused_line(".env", ".env"),
        refused_line("a/b.pem", "*.pem"),
        "ossa-gitignore: 2 staged paths must never be committed: commit refused"
        " (skip once with SKIP=ossa-gitignore)",
    ]


def test_paths_with_spaces_and_non_ascii_and_the_printed_fix_works(hooked: Path) -> None:
    path = "dossier ø/clé privée.pem"
    stage(hooked, path, "ok.txt")
    r = commit(hooked)
    assert r.returncode == 1
    assert refused_line(path, "*.pem") in r.stderr.splitlines()
    assert "git rm --cached 'dossier ø/clé privée.pem'" in r.stderr
    fix_cmd = r.stderr.split("remove with ", 1)[1].split(";", 1)[0]
    subprocess.run(fix_cmd, shell=True, cwd=hooked, check=True, capture_output=True)
    r = commit(hooked)
    assert r.returncode == 0, r.stderr
    assert git(hooked, "ls-files").stdout.splitlines() == [
        ".gitignore", ".ossa-hooks.yaml", "README.md", "ok.txt"]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse non-UTF-8 names")
def test_non_utf8_file_name_is_shown_escaped(hooked: Path) -> None:
    name = os.fsdecode(b"bad\xff.key")
    (hooked / name).write_bytes(b"k")
    git(hooked, "add", "-f", "--", name)
    r = git(hooked, "commit", "-q", "-m", "x", check=False, input=b"")
    assert r.returncode == 1
    assert b"bad\\xff.key: matches forbidden pattern '*.key'" in r.stderr


def test_renamed_into_a_forbidden_name_is_refused(hooked: Path) -> None:
    write(hooked / "settings.txt", "A=1\n")
    git(hooked, "add", "settings.txt")
    git(hooked, "commit", "-q", "-m", "settings")
    git(hooked, "mv", "settings.txt", "prod.key")
    assert git(hooked, "diff", "--cached", "--name-status", "-M").stdout.startswith("R100")
    r = commit(hooked)
    assert r.returncode == 1
    assert refused_line("prod.key", "*.key") in r.stderr.splitlines()


def test_deleting_a_tracked_forbidden_file_is_allowed(hooked: Path) -> None:
    stage(hooked, ".env")
    assert commit(hooked, env={**os.environ, "SKIP": "ossa-gitignore"}).returncode == 0
    git(hooked, "rm", "-q", "--cached", ".env")
    r = commit(hooked)
    assert r.returncode == 0, r.stderr
    assert git(hooked, "ls-files", ".env").stdout == ""


def test_a_tracked_forbidden_file_blocks_only_commits_that_change_it(hooked: Path) -> None:
    stage(hooked, "old.pem")
    assert commit(hooked, env={**os.environ, "SKIP": "ossa-gitignore"}).returncode == 0
    stage(hooked, "unrelated.txt")
    assert commit(hooked).returncode == 0
    write(hooked / "old.pem", "new content\n")
    git(hooked, "add", "old.pem")
    r = commit(hooked)
    assert r.returncode == 1
    assert refused_line("old.pem", "*.pem") in r.stderr.splitlines()


def test_partial_commit_checks_the_commit_index_not_the_staged_one(hooked: Path) -> None:
    # `git commit PATH` builds the commit in a temporary index (GIT_INDEX_FILE): a forbidden
    # file staged but left out of that commit is not in it.
    stage(hooked, ".env")
    write(hooked / "README.md", "changed\n")
    r = commit(hooked, "--", "README.md")
    assert r.returncode == 0, r.stderr
    assert git(hooked, "show", "--name-only", "--format=", "HEAD").stdout.split() == ["README.md"]
    assert git(hooked, "diff", "--cached", "--name-only").stdout.split() == [".env"]
    # ... and `git commit -a` with the .env staged takes it along: refused.
    write(hooked / "README.md", "again\n")
    r = commit(hooked, "-a")
    assert r.returncode == 1
    assert refused_line(".env", ".env") in r.stderr.splitlines()


def test_first_commit_of_an_empty_repository(repo: Path) -> None:
    write(repo / ".ossa-hooks.yaml", ONLY_THIS_HOOK)
    assert ossa(repo, "install", "-t", "pre-commit").returncode == 0
    stage(repo, ".env")
    git(repo, "add", ".gitignore", ".ossa-hooks.yaml")
    r = commit(repo)
    assert r.returncode == 1
    assert refused_line(".env", ".env") in r.stderr.splitlines()
    git(repo, "rm", "-q", "--cached", ".env")
    assert commit(repo).returncode == 0


def test_a_large_staged_change_is_matched_as_a_whole(hooked: Path) -> None:
    # Past 512 staged paths the whole index is matched at once, then filtered.
    for i in range(600):
        write(hooked / f"src/m{i % 9}/f{i}.py")
    stage(hooked, "src/m3/deep/.env.staging")
    git(hooked, "add", "src")
    r = commit(hooked)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == refused_line("src/m3/deep/.env.staging", ".env.*")
    git(hooked, "rm", "-q", "--cached", "src/m3/deep/.env.staging")
    assert commit(hooked).returncode == 0


def test_in_a_linked_worktree(hooked: Path) -> None:
    linked = hooked.parent / "linked ø"
    git(hooked, "worktree", "add", "-q", "-b", "agents/coder/t1", str(linked))
    stage(linked, "keys/id_rsa", "ok.txt")
    r = commit(linked)
    assert r.returncode == 1
    assert refused_line("keys/id_rsa", "id_rsa*") in r.stderr.splitlines()
    git(linked, "rm", "-q", "--cached", "keys/id_rsa")
    r = commit(linked)
    assert r.returncode == 0, r.stderr
    # The main worktree's index is untouched by all this.
    assert git(hooked, "diff", "--cached", "--name-only").stdout == ""


def test_empty_commit_passes(hooked: Path) -> None:
    r = commit(hooked, "--allow-empty")
    assert r.returncode == 0, r.stderr


def test_embedded_repository_in_worktrees_folder_is_refused(hooked: Path) -> None:
    inner = hooked / ".worktrees" / "proj__coder__x"
    inner.mkdir(parents=True)
    git(inner, "init", "-q")
    git(inner, "commit", "-q", "--allow-empty", "-m", "inner")
    git(hooked, "add", "-f", ".worktrees/proj__coder__x")
    assert git(hooked, "ls-files", "-s").stdout.count("160000") == 1
    r = commit(hooked)
    assert r.returncode == 1
    assert refused_line(".worktrees/proj__coder__x", ".worktrees/") in r.stderr.splitlines()


def test_skip_lets_the_commit_through(hooked: Path) -> None:
    stage(hooked, ".env")
    r = commit(hooked, env={**os.environ, "SKIP": "ossa-secrets,ossa-gitignore"})
    assert r.returncode == 0
    assert "ossa-gitignore: skipped (SKIP)" in r.stderr
    assert git(hooked, "ls-files", ".env").stdout.strip() == ".env"


# --- configuration --------------------------------------------------------------------------


def test_configured_negation_and_sub_folders(hooked: Path) -> None:
    write(hooked / ".ossa-hooks.yaml", ONLY_THIS_HOOK + (
        "gitignore:\n"
        "  forbidden: ['*.pem', '!tests/fixtures/**/*.pem', 'secrets/', '/top-only.txt']\n"
    ))
    stage(hooked, "tests/fixtures/tls/ok.pem", "sub/top-only.txt", "secretsfile")
    r = commit(hooked)
    assert r.returncode == 0, r.stderr
    stage(hooked, "real.pem", "a/secrets/x.txt", "top-only.txt", "tests/other.pem")
    r = commit(hooked)
    assert r.returncode == 1
    assert r.stderr.splitlines()[:4] == [
        refused_line("a/secrets/x.txt", "secrets/"),
        refused_line("real.pem", "*.pem"),
        refused_line("tests/other.pem", "*.pem"),
        refused_line("top-only.txt", "/top-only.txt"),
    ]


def test_negation_cannot_reinclude_inside_an_excluded_folder(hooked: Path) -> None:
    # git's rule: "It is not possible to re-include a file if a parent directory of that file
    # is excluded."
    write(hooked / ".ossa-hooks.yaml", ONLY_THIS_HOOK + (
        "gitignore:\n  forbidden: [.worktrees/, '!.worktrees/README.md']\n"))
    stage(hooked, ".worktrees/README.md")
    r = commit(hooked)
    assert r.returncode == 1
    assert refused_line(".worktrees/README.md", ".worktrees/") in r.stderr.splitlines()


def test_repository_gitignore_does_not_change_the_forbidden_list(hooked: Path) -> None:
    write(hooked / ".gitignore", "!*.pem\n!.env\n")
    git(hooked, "add", ".gitignore")
    stage(hooked, "a.pem")
    r = commit(hooked)
    assert r.returncode == 1
    assert refused_line("a.pem", "*.pem") in r.stderr.splitlines()


def test_empty_forbidden_list_allows_everything(hooked: Path) -> None:
    write(hooked / ".ossa-hooks.yaml", ONLY_THIS_HOOK + "gitignore:\n  forbidden: []\n")
    stage(hooked, ".env", "a.pem")
    assert commit(hooked).returncode == 0


def test_missing_required_entries_warn_fail_or_off(hooked: Path) -> None:
    write(hooked / ".gitignore", "*.pyc\n")
    git(hooked, "add", ".gitignore")
    expected = (".gitignore: missing required entries: .env, .env.*, !.env.example, .worktrees/,"
                " .agents-workspace/logs/, .agents-workspace/metrics/ (add them with `ossa-hooks"
                " gitignore fix`; config gitignore.required)")
    r = commit(hooked)
    assert r.returncode == 0
    assert r.stderr.splitlines() == [expected]

    write(hooked / ".ossa-hooks.yaml", ONLY_THIS_HOOK + "gitignore:\n  check_required: fail\n")
    stage(hooked, "x.txt")
    r = commit(hooked)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [expected]

    write(hooked / ".ossa-hooks.yaml", ONLY_THIS_HOOK + "gitignore:\n  check_required: ignore\n")
    r = commit(hooked)
    assert r.returncode == 0
    assert r.stderr == ""


def test_bad_config_value_is_a_usage_error(hooked: Path) -> None:
    write(hooked / ".ossa-hooks.yaml", "gitignore:\n  check_required: loud\n")
    r = ossa(hooked, "gitignore", "check")
    assert r.returncode == 2
    assert r.stderr.startswith("ossa-hooks: .ossa-hooks.yaml:2: gitignore.check_required:"
                               " unknown value 'loud'")
    stage(hooked, "x.txt")
    r = commit(hooked)
    assert r.returncode != 0
    assert "unknown value 'loud'" in r.stderr


# --- the command ----------------------------------------------------------------------------


def test_check_lists_tracked_and_staged(committed_repo: Path) -> None:
    stage(committed_repo, "deploy.pem")
    git(committed_repo, "commit", "-q", "-m", "oops")
    ossa(committed_repo, "gitignore", "fix")
    stage(committed_repo, ".env")
    r = ossa(committed_repo, "gitignore", "check")
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        refused_line(".env", ".env"),
        refused_line("deploy.pem", "*.pem"),
        "ossa-gitignore: 2 tracked paths must never be committed",
    ]
    r = ossa(committed_repo, "gitignore", "check", "--staged")
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        refused_line(".env", ".env"),
        "ossa-gitignore: 1 staged path must never be committed",
    ]
    git(committed_repo, "rm", "-q", "--cached", ".env", "deploy.pem")
    r = ossa(committed_repo, "gitignore", "check")
    assert (r.returncode, r.stdout) == (
        0, "ossa-gitignore: no forbidden tracked paths; .gitignore has the required entries\n")


def test_check_reports_missing_entries(committed_repo: Path) -> None:
    r = ossa(committed_repo, "gitignore", "check")
    assert r.returncode == 1
    assert r.stdout.startswith(".gitignore: missing required entries: .env, .env.*,")


def test_fix_is_idempotent_and_keeps_existing_lines(committed_repo: Path) -> None:
    gi = committed_repo / ".gitignore"
    gi.write_bytes(b"*.pyc\r\n.env\r\n/build")  # CRLF, no final newline, one entry present
    r = ossa(committed_repo, "gitignore", "fix")
    assert r.returncode == 0
    assert r.stdout == (".gitignore: added .env.*, !.env.example, .worktrees/,"
                        " .agents-workspace/logs/, .agents-workspace/metrics/\n")
    after = gi.read_bytes()
    assert after == (b"*.pyc\r\n.env\r\n/build\n# ossa-hooks: never commit these\n.env.*\n"
                     b"!.env.example\n.worktrees/\n.agents-workspace/logs/\n"
                     b".agents-workspace/metrics/\n")
    r = ossa(committed_repo, "gitignore", "fix")
    assert (r.returncode, r.stdout) == (0, ".gitignore: has the required entries\n")
    assert gi.read_bytes() == after
    assert ossa(committed_repo, "gitignore", "check").returncode == 0


def test_fix_creates_the_file_and_the_result_ignores_like_git(committed_repo: Path) -> None:
    ossa(committed_repo, "gitignore", "fix")
    for p in (".env", ".env.prod", ".env.example", ".worktrees/a/b", ".agents-workspace/logs/l"):
        write(committed_repo / p)
    status = git(committed_repo, "status", "--porcelain", "-uall").stdout.splitlines()
    assert sorted(status) == ["?? .env.example", "?? .gitignore"]


def test_fix_puts_a_negation_back_after_the_entry_it_must_follow(committed_repo: Path) -> None:
    gi = committed_repo / ".gitignore"
    gi.write_text("!.env.example\n")
    r = ossa(committed_repo, "gitignore", "fix")
    assert ".env.*, !.env.example," in r.stdout
    lines = gi.read_text().splitlines()
    assert lines.index(".env.*") < len(lines) - 1 - lines[::-1].index("!.env.example")
    r = ossa(committed_repo, "gitignore", "fix")
    assert r.stdout == ".gitignore: has the required entries\n"
    write(committed_repo / ".env.example")
    assert "?? .env.example" in git(committed_repo, "status", "--porcelain").stdout


def test_fix_notes_forbidden_files_that_stay_tracked(committed_repo: Path) -> None:
    stage(committed_repo, "k.key")
    git(committed_repo, "commit", "-q", "-m", "k")
    r = ossa(committed_repo, "gitignore", "fix")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1].startswith(
        "note: 1 tracked path still matches gitignore.forbidden")


def test_gitignore_without_action_is_a_usage_error(committed_repo: Path) -> None:
    r = ossa(committed_repo, "gitignore")
    assert r.returncode == 2
    assert "choose an action: check or fix" in r.stderr


def test_install_adds_the_required_entries_through_the_same_code(committed_repo: Path) -> None:
    r = ossa(committed_repo, "install", "-t", "pre-commit")
    assert r.returncode == 0
    assert ".gitignore: added .env, .env.*, !.env.example, .worktrees/" in r.stdout
    assert ossa(committed_repo, "gitignore", "fix").stdout == (
        ".gitignore: has the required entries\n")
    r = ossa(committed_repo, "install", "-t", "pre-commit")
    assert ".gitignore: has the required entries" in r.stdout


# --- under the pre-commit framework ----------------------------------------------------------


def test_under_the_pre_commit_framework(committed_repo: Path) -> None:
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed in this environment")
    bindir = str(Path(sys.executable).parent)
    write(committed_repo / ".pre-commit-config.yaml", (
        "repos:\n- repo: local\n  hooks:\n  - id: ossa-gitignore\n    name: ossa-gitignore\n"
        "    entry: ossa-hooks run ossa-gitignore\n    language: system\n"
        "    pass_filenames: false\n    always_run: true\n"))
    ossa(committed_repo, "gitignore", "fix")
    git(committed_repo, "add", ".pre-commit-config.yaml", ".gitignore")
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"],
           "PRE_COMMIT_HOME": str(committed_repo.parent / "pc-home")}
    subprocess.run([str(pre_commit), "install"], cwd=committed_repo, env=env, check=True,
                   capture_output=True)
    stage(committed_repo, "id_rsa")
    r = commit(committed_repo, env=env)
    assert r.returncode == 1
    assert refused_line("id_rsa", "id_rsa*") in (r.stdout + r.stderr).splitlines()
    r = commit(committed_repo, env={**env, "SKIP": "ossa-gitignore"})
    assert r.returncode == 0, r.stdout + r.stderr


# --- git's matching rules, against git itself -----------------------------------------------

_SEGMENTS = st.sampled_from(["a", "b", ".env", "x.pem", "id_rsa", "logs", "k ey", "ø"])
_PATHS = st.lists(st.lists(_SEGMENTS, min_size=1, max_size=3).map("/".join), min_size=3,
                  max_size=10, unique=True)
_PATTERNS = st.lists(
    st.sampled_from(["*.pem", "!x.pem", ".env", "!.env", "a/", "!a/b", "/b", "logs/",
                     "a/**/x.pem", "**/b/.env", "id_rsa*", "[ab]/x.pem", "?.pem", "k\\ ey",
                     "!/a", "b/*", "!*/", "ø/", "/a/.env", "logs", "!logs/id_rsa"]),
    min_size=2, max_size=6)


def _oracle(tmp: Path, patterns: list[str], paths: list[str]) -> set[str]:
    """What git itself ignores: untracked files under a .gitignore of these patterns."""
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    git(tmp, "init", "-q")
    for p in paths:
        write(tmp / p)
    (tmp / ".gitignore").write_text("\n".join(patterns) + "\n", encoding="utf-8")
    out = git(tmp, "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
              input=b"").stdout
    return {p.decode() for p in out.split(b"\0") if p} - {".gitignore"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patterns=_PATTERNS, paths=_PATHS)
def test_matching_agrees_with_git_ignoring_untracked_files(
    tmp_path: Path, patterns: list[str], paths: list[str]
) -> None:
    # A path and a folder of the same name cannot both exist.
    paths = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    expected = _oracle(tmp_path / "oracle", patterns, paths)
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    git(work, "init", "-q")
    for p in paths:
        write(work / p)
    git(work, "add", "-A")
    repo = git_mod.repo_paths(work)
    found = gitignore.forbidden(repo, patterns, staged_only=False, environ={})
    assert {r.path for r in found} == expected
    for r in found:  # the named pattern matches the path on its own
        assert r.pattern in patterns and not r.pattern.startswith("!")


# --- pieces ---------------------------------------------------------------------------------


def test_clean_patterns_reads_like_a_gitignore_file() -> None:
    assert gitignore.clean_patterns(
        ["", "# comment", "a  ", "b\\ ", "c\\\\ ", " lead", "!", "\\#hash"]
    ) == ["a", "b\\ ", "c\\\\", " lead", "\\#hash"]


def test_shown_escapes_what_would_break_a_line() -> None:
    assert gitignore.shown("a\nb") == "a\\x0ab"
    assert gitignore.shown(os.fsdecode(b"\xff.pem")) == "\\xff.pem"
    assert gitignore.shown("ø.pem") == "ø.pem"


def test_check_as_json(committed_repo: Path) -> None:
    import json

    from conftest import git as git_
    from conftest import ossa

    (committed_repo / "id_rsa").write_text("key\n")
    git_(committed_repo, "add", "-f", "id_rsa")
    proc = ossa(committed_repo, "gitignore", "check", "--staged", "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["scope"] == "staged" and doc["ok"] is False
    assert doc["refused"] == [{"path": "id_rsa", "pattern": "id_rsa*"}]
    assert ".env" in doc["missing"]
