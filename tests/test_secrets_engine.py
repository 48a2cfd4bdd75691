"""The commit guard on real repositories: what the hook and `ossa-hooks scan` show and return."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit_files
from conftest import git
from conftest import ossa
from conftest import rnd
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st


def gh_token(seed: str = "t") -> str:
    return "ghp_" + rnd(36, seed)


def password_line(seed: str = "p") -> tuple[str, str]:
    value = rnd(16, seed) + "#9"
    return f'DB_PASSWORD = "{value}"\n', value


@pytest.fixture
def hooked(committed_repo: Path) -> Path:
    """A repository with the ossa-hooks pre-commit hook installed."""
    r = ossa(committed_repo, "install", "-t", "pre-commit")
    assert r.returncode == 0, r.stderr
    return committed_repo


def commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return git(repo, "commit", "-q", "-m", "change", *args, check=False)


def write(repo: Path, name: str, text: str | bytes) -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# --- the hook ---------------------------------------------------------------------------------


def test_hook_refuses_a_staged_secret_and_masks_it(hooked: Path) -> None:
    token = gh_token()
    write(hooked, "deploy.sh", f"echo start\nexport GH={token}\n")
    git(hooked, "add", "deploy.sh")
    r = commit(hooked)
    assert r.returncode == 1
    assert "deploy.sh:2: GitHub Token: ghp_…" in r.stderr
    assert "1 possible secret in 1 file" in r.stderr and "commit refused" in r.stderr
    assert "pragma: allowlist secret" in r.stderr and "--update-baseline" in r.stderr
    assert token not in r.stderr + r.stdout and token[4:12] not in r.stderr
    assert git(hooked, "rev-list", "--count", "HEAD").stdout.strip() == "1"


def test_hook_passes_clean_and_empty_commits(hooked: Path) -> None:
    write(hooked, "app.py", 'password = os.environ["DB_PASSWORD"]\nprint("hi")\n')
    git(hooked, "add", "app.py")
    assert commit(hooked).returncode == 0
    r = commit(hooked, "--allow-empty")
    assert r.returncode == 0 and r.stderr == ""


def test_partially_staged_file_is_judged_by_what_is_staged(hooked: Path) -> None:
    line, _ = password_line()
    write(hooked, "settings.py", "DEBUG = False\n")
    git(hooked, "add", "settings.py")
    write(hooked, "settings.py", "DEBUG = False\n" + line)  # the secret is not staged
    assert commit(hooked).returncode == 0
    # The other way round: the secret is staged, then removed from the working tree only.
    write(hooked, "settings.py", "DEBUG = False\n" + line)
    git(hooked, "add", "settings.py")
    write(hooked, "settings.py", "DEBUG = False\n")
    r = commit(hooked)
    assert r.returncode == 1 and "settings.py:2: Secret Keyword:" in r.stderr


def test_commit_all_and_commit_path_use_gits_temporary_index(hooked: Path) -> None:
    line, _ = password_line("all")
    write(hooked, "README.md", "hello\n" + line)
    r = commit(hooked, "-a")  # README.md is tracked: -a stages it in a temporary index
    assert r.returncode == 1 and "README.md:2:" in r.stderr
    r = git(hooked, "commit", "-q", "-m", "x", "README.md", check=False)
    assert r.returncode == 1 and "README.md:2:" in r.stderr


def test_hook_bad_input_passes_quietly(hooked: Path, tmp_path: Path) -> None:
    token = gh_token("bin")
    write(hooked, "blob.bin", b"\x00\x01" + token.encode() + b"\x00")
    os.symlink("README.md", hooked / "link")
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q")
    write(sub, "f", "x\n")
    git(sub, "add", "f")
    git(sub, "commit", "-q", "-m", "s")
    git(hooked, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    git(hooked, "add", "-A")
    r = commit(hooked)
    assert r.returncode == 0, r.stderr
    r = ossa(hooked, "scan", "--rev", "HEAD")
    assert r.returncode == 0
    assert "skipped 1 binary, 2 symlink/submodule" in r.stdout


def test_deleted_and_renamed_files_add_nothing(hooked: Path) -> None:
    line, _ = password_line("old")
    write(hooked, "old.py", line)
    write(hooked, "gone.py", line)
    git(hooked, "add", ".")
    git(hooked, "commit", "-q", "-m", "legacy", "--no-verify")
    git(hooked, "mv", "old.py", "new.py")
    git(hooked, "rm", "-q", "gone.py")
    assert commit(hooked).returncode == 0


def test_non_utf8_content_crlf_and_odd_path(hooked: Path) -> None:
    token = gh_token("odd")
    write(hooked, "dír ø/n.txt", b"caf\xe9\r\n" + f"T={token}\r\n".encode())
    git(hooked, "add", ".")
    r = commit(hooked)
    assert r.returncode == 1
    assert "dír ø/n.txt:2: GitHub Token: ghp_…" in r.stderr


def test_merge_commit_scans_what_the_merge_brings(hooked: Path) -> None:
    git(hooked, "checkout", "-q", "-b", "feature")
    line, _ = password_line("merge")
    write(hooked, "feature.py", line)
    git(hooked, "add", "feature.py")
    git(hooked, "commit", "-q", "-m", "feature", "--no-verify")
    git(hooked, "checkout", "-q", "main")
    write(hooked, "main.txt", "main\n")
    git(hooked, "add", "main.txt")
    git(hooked, "commit", "-q", "-m", "main")
    git(hooked, "merge", "--no-ff", "--no-commit", "-q", "feature")
    r = commit(hooked)
    assert r.returncode == 1 and "feature.py:1: Secret Keyword:" in r.stderr
    git(hooked, "commit", "-q", "-m", "merge", "--no-verify")
    r = ossa(hooked, "scan", "--rev", "HEAD~2..HEAD")
    assert r.returncode == 1
    assert r.stdout.count("feature.py:1:") == 1 and "(commit " in r.stdout


def test_pragma_allowlist(hooked: Path) -> None:
    line, _ = password_line("pragma")
    write(hooked, "t.py", line.rstrip("\n") + "  # pragma: allowlist secret\n")
    git(hooked, "add", "t.py")
    assert commit(hooked).returncode == 0


def test_config_excludes_and_size_limit(hooked: Path) -> None:
    write(hooked, ".ossa-hooks.yaml",
          "secrets:\n  exclude: [fixtures/, '*.snap']\n  max_file_size: 5000\n")
    line, _ = password_line("cfg")
    write(hooked, "fixtures/creds.py", line)
    write(hooked, "tests/x.snap", line)
    write(hooked, "big.py", "# filler\n" * 1000 + line)
    git(hooked, "add", ".")
    assert commit(hooked).returncode == 0
    r = ossa(hooked, "scan", "--all-files")
    assert r.returncode == 0 and "1 over the size limit" in r.stdout


def test_pre_commit_framework_files(hooked: Path) -> None:
    line, _ = password_line("pc")
    write(hooked, "a.py", line)
    write(hooked, "b.py", "x = 1\n")
    git(hooked, "add", ".")
    env = {**os.environ, "PRE_COMMIT": "1"}
    assert ossa(hooked, "run", "ossa-secrets", "b.py", env=env).returncode == 0
    r = ossa(hooked, "run", "ossa-secrets", "a.py", "b.py", env=env)
    assert r.returncode == 1 and "a.py:1:" in r.stderr
    assert ossa(hooked, "run", "ossa-secrets", env=env).returncode == 1


# --- ossa-hooks scan --------------------------------------------------------------------------


def test_scan_outputs_text_json_sarif(committed_repo: Path) -> None:
    token = gh_token("out")
    write(committed_repo, "a.py", f"x = 1\nT = '{token}'\n")
    git(committed_repo, "add", "a.py")
    r = ossa(committed_repo, "scan")
    assert r.returncode == 1
    assert r.stdout.splitlines()[0] == "a.py:2: GitHub Token: ghp_…"
    assert "1 possible secret in 1 file (1 file, " in r.stdout
    r = ossa(committed_repo, "scan", "--staged", "--format", "json")
    assert r.returncode == 1
    assert json.loads(r.stdout) == [{"path": "a.py", "line": 2, "kind": "GitHub Token",
                                     "masked": "ghp_…"}]
    r = ossa(committed_repo, "scan", "--format", "sarif")
    doc = json.loads(r.stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    assert run["tool"]["driver"]["rules"][0]["id"] == "secret/github-token"
    res = run["results"][0]
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a.py"
    assert token not in r.stdout


def test_scan_nothing_staged(committed_repo: Path) -> None:
    r = ossa(committed_repo, "scan")
    assert r.returncode == 0
    assert r.stdout.strip() == "ossa-hooks scan: no secrets (0 files, 0 bytes of the staged "\
                               "changes scanned)"


def test_scan_all_files_rev_and_paths(committed_repo: Path, tmp_path: Path) -> None:
    line, _ = password_line("modes")
    write(committed_repo, "cfg/settings.py", line)
    git(committed_repo, "add", ".")
    git(committed_repo, "commit", "-q", "-m", "cfg")
    r = ossa(committed_repo, "scan", "--all-files")
    assert r.returncode == 1 and "cfg/settings.py:1: Secret Keyword:" in r.stdout
    r = ossa(committed_repo, "scan", "--rev", "HEAD~1..HEAD", "--format", "json")
    head = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    assert json.loads(r.stdout)[0]["commit"] == head
    assert ossa(committed_repo, "scan", "--rev", "HEAD~1").returncode == 0
    r = ossa(committed_repo, "scan", "cfg")
    assert r.returncode == 1 and "cfg/settings.py:1:" in r.stdout
    outside = tmp_path / "loose"
    outside.mkdir()
    write(outside, "k.env", f"API_TOKEN={rnd(30, 'loose')}\n")
    r = ossa(outside, "scan", ".")
    assert r.returncode == 1 and "k.env:1: Secret Keyword:" in r.stdout
    r = ossa(committed_repo, "scan", "--rev", "nope..HEAD")
    assert r.returncode == 2 and r.stderr.startswith("ossa-hooks: git ")
    r = ossa(committed_repo, "scan", "--all-files", "cfg")
    assert r.returncode == 2


# --- the baseline -----------------------------------------------------------------------------


def test_baseline_round_trip(hooked: Path) -> None:
    line, value = password_line("base")
    write(hooked, "app/settings.py", "# settings\n" + line)
    git(hooked, "add", ".")
    git(hooked, "commit", "-q", "-m", "legacy secret", "--no-verify")
    assert ossa(hooked, "scan", "--all-files").returncode == 1
    r = ossa(hooked, "scan", "--update-baseline")
    assert r.returncode == 0
    assert "wrote .secrets.baseline: 1 known finding in 1 file" in r.stdout
    data = json.loads((hooked / ".secrets.baseline").read_text())
    assert set(data) >= {"version", "plugins_used", "filters_used", "results", "generated_at"}
    (item,) = data["results"]["app/settings.py"]
    assert item["type"] == "Secret Keyword" and item["line_number"] == 2
    assert item["hashed_secret"] == hashlib.sha1(value.encode()).hexdigest()
    assert value not in (hooked / ".secrets.baseline").read_text()
    r = ossa(hooked, "scan", "--all-files")
    assert r.returncode == 0 and "1 known from the baseline" in r.stdout
    # A known secret moved by an edit still passes; a new one does not.
    write(hooked, "app/settings.py", "# settings\n# more\n" + line)
    git(hooked, "add", ".")
    assert commit(hooked).returncode == 0
    line2, _ = password_line("base2")
    write(hooked, "app/settings.py", "# settings\n# more\n" + line + line2)
    git(hooked, "add", ".")
    r = commit(hooked)
    assert r.returncode == 1 and "app/settings.py:4:" in r.stderr
    assert "app/settings.py:3:" not in r.stderr


def test_baseline_keeps_audit_labels_and_other_files(committed_repo: Path) -> None:
    line, _ = password_line("lab")
    write(committed_repo, "a.py", line)
    write(committed_repo, "b.py", line.replace("DB_", "X_"))
    git(committed_repo, "add", ".")
    assert ossa(committed_repo, "scan", "--all-files", "--update-baseline").returncode == 0
    path = committed_repo / ".secrets.baseline"
    data = json.loads(path.read_text())
    data["results"]["a.py"][0]["is_secret"] = False
    path.write_text(json.dumps(data))
    assert ossa(committed_repo, "scan", "--staged", "--update-baseline").returncode == 0
    data = json.loads(path.read_text())
    assert data["results"]["a.py"][0]["is_secret"] is False
    assert "b.py" in data["results"]


def test_baseline_usable_by_detect_secrets_audit(committed_repo: Path) -> None:
    line, _ = password_line("audit")
    fine_grained = f"github_pat_{rnd(22, 'fg1')}_{rnd(59, 'fg2')}"
    write(committed_repo, "a.py", line + f"GH = '{fine_grained}'\n")
    git(committed_repo, "add", ".")
    assert ossa(committed_repo, "scan", "--update-baseline").returncode == 0
    items = json.loads((committed_repo / ".secrets.baseline").read_text())["results"]["a.py"]
    # A provider detect-secrets lacks is recorded under a type its audit can load.
    assert {(i["type"], i.get("ossa_kind")) for i in items} == {
        ("Secret Keyword", None), ("Base64 High Entropy String", "GitHub Fine-grained Token")}
    exe = shutil.which("detect-secrets", path=str(Path(sys.executable).parent))
    assert exe is not None
    r = subprocess.run([exe, "audit", "--report", ".secrets.baseline"], cwd=committed_repo,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert sorted(x["secrets"] for x in report["results"]) == sorted(
        [fine_grained, line.split('"')[1]])


@pytest.mark.parametrize("text", ["{not json", '{"results": []}', '{"results": {"a": [{}]}}'])
def test_corrupt_baseline_is_a_clear_error(hooked: Path, text: str) -> None:
    write(hooked, ".secrets.baseline", text)
    line, _ = password_line("bad")
    write(hooked, "a.py", line)
    git(hooked, "add", "a.py")
    r = commit(hooked)  # git reports any hook failure as 1
    assert r.returncode == 1
    assert ".secrets.baseline: not a valid secrets baseline" in r.stderr
    assert "Traceback" not in r.stderr
    r = ossa(hooked, "run", "pre-commit")
    assert r.returncode == 2 and ".secrets.baseline: not a valid" in r.stderr
    r = ossa(hooked, "scan")
    assert r.returncode == 2 and ".secrets.baseline" in r.stderr


# --- the diff parser against git itself ----------------------------------------------------


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(st.sampled_from(["a = 1", "", "# c", "x()", "\tpass"]), max_size=30),
    edits=st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=6),
)
def test_line_numbers_match_the_staged_file(committed_repo: Path, before: list[str],
                                            edits: list[tuple[int, bool]]) -> None:
    """Lines deleted and secrets inserted anywhere: every reported line holds its secret."""
    path = committed_repo / "f.py"
    path.write_text("".join(f"{line}\n" for line in before))
    git(committed_repo, "add", "f.py")
    git(committed_repo, "commit", "-q", "--allow-empty", "-m", "base", "--no-verify")
    lines = list(before)
    for n, (where, delete) in enumerate(edits):
        i = min(where, len(lines))
        if delete and i < len(lines):
            del lines[i]
        lines.insert(i, f"T{n} = 'ghp_{rnd(36, f'prop{n}')}'")
    path.write_text("".join(f"{line}\n" for line in lines))
    git(committed_repo, "add", "f.py")
    r = ossa(committed_repo, "scan", "--format", "json")
    found = {(f["line"]) for f in json.loads(r.stdout)}
    expected = {i + 1 for i, line in enumerate(lines) if "ghp_" in line}
    assert found == expected


def test_first_commit_and_commit_from_a_subfolder(repo: Path) -> None:
    assert ossa(repo, "install", "-t", "pre-commit").returncode == 0
    line, _ = password_line("first")
    write(repo, "src/app/cfg.py", line)
    git(repo, "add", ".")
    r = commit(repo)  # no HEAD yet: everything staged is new
    assert r.returncode == 1 and "src/app/cfg.py:1: Secret Keyword:" in r.stderr
    write(repo, "src/app/cfg.py", "ok = True\n")
    git(repo, "add", ".")
    assert commit(repo).returncode == 0
    write(repo, "src/app/cfg.py", "ok = True\n" + line)
    r = git(repo / "src" / "app", "commit", "-q", "-a", "-m", "x", check=False)
    assert r.returncode == 1 and "src/app/cfg.py:2:" in r.stderr


def test_linked_worktree_commit(hooked: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt ø"
    git(hooked, "worktree", "add", "-q", str(wt), "-b", "agent")
    line, _ = password_line("wt")
    write(wt, "w.py", line)
    git(wt, "add", "w.py")
    r = commit(wt)
    assert r.returncode == 1 and "w.py:1: Secret Keyword:" in r.stderr
    write(wt, "w.py", "x = 1\n")
    git(wt, "add", "w.py")
    assert commit(wt).returncode == 0


def test_scan_paths_excludes_match_as_git_does(committed_repo: Path) -> None:
    """``docs/*.md`` stays in ``docs/`` (git's glob), where fnmatch would reach into
    ``docs/api/``; a pattern without a slash matches at any depth; ``--all-files`` agrees."""
    token = "ghp_" + rnd(36, "excl")
    (committed_repo / ".ossa-hooks.yaml").write_text(
        "secrets:\n  exclude: ['docs/*.md', 'notes.txt']\n")
    files = {"docs/top.md": f"T={token}\n", "docs/api/deep.md": f"T={token}\n",
             "a/b/notes.txt": f"T={token}\n", "src/app.py": f'T = "{token}"\n'}
    commit_files(committed_repo, files)
    on_disk = ossa(committed_repo, "scan", "--format", "json", ".")
    in_git = ossa(committed_repo, "scan", "--all-files", "--format", "json")
    for r in (on_disk, in_git):
        assert r.returncode == 1, r.stderr
        assert sorted(f["path"] for f in json.loads(r.stdout)) == ["docs/api/deep.md",
                                                                   "src/app.py"]


def test_scan_paths_in_two_processes_finds_the_same(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from ossa_hooks import config
    from ossa_hooks.secrets import engine

    for i in range(9):
        (tmp_path / f"m{i}.py").write_text(f'T = "ghp_{rnd(36, f"two{i}")}"\n' if i % 3 else
                                           "x = 1\n")
    cfg = config.load(None)
    one = engine.scan_paths([str(tmp_path)], cfg, root=tmp_path)
    monkeypatch.setattr(engine, "PARALLEL_FILES", 2)
    two = engine.scan_paths([str(tmp_path)], cfg, root=tmp_path)
    assert sorted(map(repr, two.findings)) == sorted(map(repr, one.findings))
    assert len(one.findings) == 6 and two.files == one.files == 9 and two.paths == one.paths
