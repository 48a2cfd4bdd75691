"""``.secrets.baseline`` (ossa_hooks.secrets.baseline) on real repositories: the file
``ossa-hooks scan --update-baseline`` writes, what a later scan lets through, hand-edited and
corrupt files, and compatibility with detect-secrets' own baseline code in both directions."""

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
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st


def password(seed: str) -> str:
    return rnd(16, seed) + "#9"


def sha1(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()


def update(repo: Path, *args: str) -> dict[str, object]:
    r = ossa(repo, "scan", "--update-baseline", *args)
    assert r.returncode == 0, r.stderr
    return dict(json.loads((repo / ".secrets.baseline").read_text()))


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def run_python(repo: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True,
                          text=True, check=False)


# --- round trip ---------------------------------------------------------------------------------


def test_written_file_is_json_in_detect_secrets_layout(committed_repo: Path) -> None:
    value = password("layout")
    commit_files(committed_repo, {"src/db.py": f'DB_PASSWORD = "{value}"\n'})
    data = update(committed_repo)
    assert isinstance(data["version"], str) and data["version"]
    assert isinstance(data["plugins_used"], list) and data["plugins_used"]
    assert all("name" in p for p in data["plugins_used"])  # type: ignore[union-attr]
    filters = data["filters_used"]
    assert isinstance(filters, list)
    assert {"path": "detect_secrets.filters.common.is_baseline_file",
            "filename": ".secrets.baseline"} in filters
    assert data["results"] == {"src/db.py": [{
        "type": "Secret Keyword", "filename": "src/db.py", "hashed_secret": sha1(value),
        "is_verified": False, "line_number": 1}]}
    text = (committed_repo / ".secrets.baseline").read_text()
    assert text.endswith("}\n") and value not in text
    # Written atomically: no temporary file is left beside it.
    assert [p.name for p in committed_repo.iterdir() if p.name.startswith(".secrets-baseline-")
            ] == []


def test_baseline_file_itself_is_never_a_finding(committed_repo: Path) -> None:
    value = password("self")
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{value}"\n'})
    update(committed_repo)
    git(committed_repo, "add", ".secrets.baseline")
    git(committed_repo, "commit", "-q", "-m", "baseline")
    r = ossa(committed_repo, "scan", "--all-files", "--format", "json")
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout) == []


def test_finding_whose_line_moved_still_passes_but_not_in_another_file(
        committed_repo: Path) -> None:
    value = password("moved")
    line = f'DB_PASSWORD = "{value}"\n'
    commit_files(committed_repo, {"cfg.py": "# one\n" + line})
    update(committed_repo)
    before = (committed_repo / ".secrets.baseline").read_bytes()
    commit_files(committed_repo, {"cfg.py": "# one\n# two\n# three\n\n" + line})
    r = ossa(committed_repo, "scan", "--all-files")
    assert r.returncode == 0, r.stdout
    assert "1 known from the baseline" in r.stdout
    # A scan that only reads the baseline leaves it untouched.
    assert (committed_repo / ".secrets.baseline").read_bytes() == before
    # The same value copied to another file is a new finding: the baseline is per file.
    commit_files(committed_repo, {"other.py": line})
    r = ossa(committed_repo, "scan", "--all-files", "--format", "json")
    assert r.returncode == 1
    assert [(f["path"], f["line"]) for f in json.loads(r.stdout)] == [("other.py", 1)]


def test_fixed_secret_leaves_the_baseline_on_a_full_update(committed_repo: Path) -> None:
    keep, gone = password("keep"), password("gone")
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{keep}"\n',
                                  "b.py": f'DB_PASSWORD = "{gone}"\n'})
    assert set(update(committed_repo)["results"]) == {"a.py", "b.py"}  # type: ignore[arg-type]
    commit_files(committed_repo, {"b.py": "DB_PASSWORD = os.environ['DB_PASSWORD']\n"})
    data = update(committed_repo)
    assert list(data["results"]) == ["a.py"]  # type: ignore[call-overload]


def test_same_value_twice_in_a_file_is_recorded_once(committed_repo: Path) -> None:
    value = password("twice")
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{value}"\n# x\n'
                                          f'DB_PASSWORD = "{value}"\n'})
    data = update(committed_repo)
    items = data["results"]["a.py"]  # type: ignore[index]
    assert [(i["hashed_secret"], i["line_number"]) for i in items] == [(sha1(value), 1)]
    r = ossa(committed_repo, "scan", "--all-files")
    assert r.returncode == 0 and "2 known from the baseline" in r.stdout


def test_configured_baseline_name(committed_repo: Path) -> None:
    (committed_repo / ".ossa-hooks.yaml").write_text("secrets:\n  baseline: ci/known.json\n")
    (committed_repo / "ci").mkdir()
    value = password("named")
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{value}"\n'})
    r = ossa(committed_repo, "scan", "--update-baseline")
    assert r.returncode == 0, r.stderr
    assert "wrote ci/known.json:" in r.stdout
    assert not (committed_repo / ".secrets.baseline").exists()
    data = json.loads((committed_repo / "ci" / "known.json").read_text())
    assert {"path": "detect_secrets.filters.common.is_baseline_file",
            "filename": "ci/known.json"} in data["filters_used"]
    assert ossa(committed_repo, "scan", "--all-files").returncode == 0
    (committed_repo / "ci" / "known.json").write_text("{")
    line = one_line_error(ossa(committed_repo, "scan", "--all-files"))
    assert "known.json: not a valid secrets baseline: invalid JSON (line 1)" in line


# --- hand-edited and corrupt files --------------------------------------------------------------


def test_minimal_hand_written_baseline_is_accepted(committed_repo: Path) -> None:
    value = password("hand")
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{value}"\n'})
    path = committed_repo / ".secrets.baseline"
    path.write_text('{"results": {}}')
    r = ossa(committed_repo, "scan", "--all-files")
    assert r.returncode == 1 and "a.py:1: Secret Keyword:" in r.stdout
    path.write_text(json.dumps({"results": {"a.py": [{"hashed_secret": sha1(value)}]}}))
    r = ossa(committed_repo, "scan", "--all-files")
    assert r.returncode == 0 and "1 known from the baseline" in r.stdout


@pytest.mark.parametrize(("content", "why"), [
    (b"", "invalid JSON (line 1)"),
    (b'{\n  "results": {\n    "a.py": [\n  }\n', "invalid JSON (line 4)"),
    (b"\xff\xfe\x00garbage", "invalid JSON"),
    (b"[]", 'no "results" object'),
    (b'{"version": "1.5.0"}', 'no "results" object'),
    (b'{"results": {"a.py": {"hashed_secret": "x"}}}', "results of 'a.py' is not a list"),
    (b'{"results": {"a.py": ["abc"]}}', "a result of 'a.py' has no hashed_secret"),
    (b'{"results": {"a.py": [{"hashed_secret": 12}]}}', "a result of 'a.py' has no hashed_sec"),
])
def test_corrupt_baseline_is_one_line_naming_the_file(committed_repo: Path, content: bytes,
                                                      why: str) -> None:
    # Even a scan with nothing to report reads the baseline, and stops on a bad one.
    (committed_repo / ".secrets.baseline").write_bytes(content)
    line = one_line_error(ossa(committed_repo, "scan", "--all-files"))
    assert ".secrets.baseline: not a valid secrets baseline: " + why in line
    assert "--update-baseline" in line  # says how to get out of it


def test_corrupt_baseline_stops_sarif_output_and_updates(committed_repo: Path) -> None:
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{password("stop")}"\n'})
    content = b'{"results": {"a.py": [{"type": "Secret Keyword"}]}}'
    (committed_repo / ".secrets.baseline").write_bytes(content)
    for args in (("--format", "sarif"), ("--update-baseline",)):
        r = ossa(committed_repo, "scan", "--all-files", *args)
        line = one_line_error(r)
        assert line.endswith(".secrets.baseline: not a valid secrets baseline: a result of "
                             "'a.py' has no hashed_secret; fix it, or delete it and run "
                             "`ossa-hooks scan --update-baseline`")
        assert r.stdout == ""  # no half report
    # The failed update overwrote nothing.
    assert (committed_repo / ".secrets.baseline").read_bytes() == content


def test_unreadable_baseline_is_one_line_naming_the_file(committed_repo: Path) -> None:
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{password("dir")}"\n'})
    (committed_repo / ".secrets.baseline").mkdir()
    line = one_line_error(ossa(committed_repo, "scan", "--all-files"))
    assert ".secrets.baseline: cannot read the secrets baseline" in line


# --- detect-secrets compatibility ---------------------------------------------------------------


def test_detect_secrets_baseline_loader_reads_what_was_written(committed_repo: Path) -> None:
    value = password("ds-load")
    token = "ghp_" + rnd(36, "ds-load")
    commit_files(committed_repo, {"a b/ø.py": f'DB_PASSWORD = "{value}"\n',
                                  "tok.py": f"X = 1\nT = '{token}'\n"})
    update(committed_repo)
    code = (
        "import json\n"
        "from detect_secrets.core import baseline\n"
        "raw = baseline.load_from_file('.secrets.baseline')\n"
        "secrets = baseline.load(raw, '.secrets.baseline')\n"
        "print(json.dumps(sorted([f, s.type, s.secret_hash, s.line_number]\n"
        "                        for f, s in secrets)))\n"
        "print(json.dumps(baseline.format_for_output(secrets)['results'], sort_keys=True))\n"
    )
    r = run_python(committed_repo, code)
    assert r.returncode == 0, r.stderr
    loaded, results = r.stdout.splitlines()
    assert json.loads(loaded) == [
        ["a b/ø.py", "Secret Keyword", sha1(value), 1],
        # detect-secrets' own GitHub plugin sees only "ghp" of a token, so the token is
        # recorded under the type whose plugin finds the whole value again.
        ["tok.py", "Base64 High Entropy String", sha1(token), 2],
    ]
    ours = json.loads((committed_repo / ".secrets.baseline").read_text())["results"]
    theirs = json.loads(results)
    assert ours["tok.py"][0]["ossa_kind"] == "GitHub Token"
    assert {f: [i["hashed_secret"] for i in v] for f, v in theirs.items()} == {
        f: [i["hashed_secret"] for i in v] for f, v in ours.items()}


def test_baseline_written_by_detect_secrets_is_honoured(committed_repo: Path) -> None:
    value = password("ds-scan")
    commit_files(committed_repo, {"app.py": f'DB_PASSWORD = "{value}"\n'})
    exe = shutil.which("detect-secrets", path=str(Path(sys.executable).parent))
    assert exe is not None
    scan = subprocess.run([exe, "scan"], cwd=committed_repo, capture_output=True, text=True,
                          check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert scan.returncode == 0, scan.stderr
    (committed_repo / ".secrets.baseline").write_text(scan.stdout)
    assert "app.py" in json.loads(scan.stdout)["results"]
    r = ossa(committed_repo, "scan", "--all-files")
    assert r.returncode == 0, r.stdout
    assert "1 known from the baseline" in r.stdout
    # Rewriting it keeps detect-secrets' audit label and stays in its format.
    data = json.loads(scan.stdout)
    data["results"]["app.py"][0]["is_secret"] = False
    (committed_repo / ".secrets.baseline").write_text(json.dumps(data))
    new = update(committed_repo)
    (item,) = new["results"]["app.py"]  # type: ignore[index]
    assert item["is_secret"] is False and item["hashed_secret"] == sha1(value)


def test_detect_secrets_own_entries_are_kept_while_their_secret_is_there(
        committed_repo: Path) -> None:
    """An entry only detect-secrets produces (a hex string it judges by entropy alone) stays in
    the baseline ossa-hooks rewrites, so detect-secrets' own hook keeps accepting the file; it
    leaves once the value is gone from the file."""
    value = hashlib.sha1(b"ds-only").hexdigest()
    commit_files(committed_repo, {"ids.py": f'LAST = "{value}"\n'})
    bindir = Path(sys.executable).parent
    scan = subprocess.run([str(bindir / "detect-secrets"), "scan"], cwd=committed_repo,
                          capture_output=True, text=True, check=True)
    (committed_repo / ".secrets.baseline").write_text(scan.stdout)
    assert [i["type"] for i in json.loads(scan.stdout)["results"]["ids.py"]] == [
        "Hex High Entropy String"]
    new = update(committed_repo)
    assert [i["hashed_secret"] for i in new["results"]["ids.py"]] == [sha1(value)]  # type: ignore[index]
    hook = subprocess.run([str(bindir / "detect-secrets-hook"), "--baseline", ".secrets.baseline",
                           "ids.py"], cwd=committed_repo, capture_output=True, text=True,
                          check=False)
    assert hook.returncode == 0, hook.stdout + hook.stderr
    commit_files(committed_repo, {"ids.py": "LAST = None\n"})
    assert "ids.py" not in update(committed_repo)["results"]  # type: ignore[operator]


# --- a round trip that must hold for any findings -------------------------------------------------

_PATHS = st.text(alphabet="abcdefgh/._-ø ", min_size=1, max_size=12).filter(
    lambda p: p.strip("/ ") == p and "//" not in p)
_VALUES = st.text(min_size=1, max_size=40).filter(lambda v: "\0" not in v)
_KINDS = st.sampled_from(["Secret Keyword", "GitHub Token", "AWS Access Key",
                          "Base64 High Entropy String", "Slack Webhook"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_PATHS, st.integers(1, 10_000), _KINDS, _VALUES), max_size=8))
def test_baseline_write_then_read_allows_every_finding(tmp_path_factory: pytest.TempPathFactory,
                                                      rows: list[tuple[str, int, str, str]]
                                                      ) -> None:
    from ossa_hooks.secrets import baseline
    from ossa_hooks.secrets.scanner import Finding

    findings = [Finding(path, line, kind, value) for path, line, kind, value in rows]
    folder = tmp_path_factory.mktemp("baseline")
    path = folder / ".secrets.baseline"
    data = baseline.build(findings, None, {f.path for f in findings}, everything=True,
                          filename=".secrets.baseline")
    baseline.write(path, data)
    loaded = baseline.load(path)
    assert loaded is not None
    assert all(loaded.allows(f) for f in findings)
    # ...and nothing else: another value in the same files is not allowed.
    assert not any(loaded.allows(Finding(f.path, f.line, f.kind, f.secret + "\x01"))
                   for f in findings)
    # Writing what was read changes nothing (the file is stable under a rewrite).
    again = baseline.build(findings, loaded, {f.path for f in findings}, everything=False,
                           filename=".secrets.baseline")
    assert again["results"] == data["results"]
