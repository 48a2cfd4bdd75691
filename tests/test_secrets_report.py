"""SARIF 2.1.0 output (ossa_hooks.secrets.report) as `ossa-hooks scan --format sarif` prints
it on real repositories: the document's structure, rules and results that point at each other,
locations, stable fingerprints, and no secret (nor its bare hash) anywhere in the document."""

from __future__ import annotations

import hashlib
import json
import string
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from conftest import commit_files
from conftest import git
from conftest import ossa
from conftest import rnd

from ossa_hooks import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif(repo: Path, *args: str, code: int = 1) -> tuple[dict[str, Any], str]:
    r: subprocess.CompletedProcess[str] = ossa(repo, "scan", "--format", "sarif", *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    return json.loads(r.stdout), r.stdout


def check_structure(doc: dict[str, Any]) -> None:
    """What every SARIF 2.1.0 consumer (GitHub code scanning) needs of the document."""
    assert doc["$schema"] == SCHEMA
    assert doc["version"] == "2.1.0"
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ossa-hooks" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["id"].startswith("secret/")
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] == "error"
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert result["ruleId"] == rule["id"]
        assert result["level"] == "error"
        assert result["message"]["text"]
        (loc,) = result["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert isinstance(phys["region"]["startLine"], int) and phys["region"]["startLine"] >= 1
        assert set(result["partialFingerprints"]) == {"ossaSecret/v1"}


def test_no_findings_is_a_valid_empty_run(committed_repo: Path) -> None:
    doc, _ = sarif(committed_repo, "--all-files", code=0)
    check_structure(doc)
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []
    assert doc["runs"][0]["results"] == []


def test_rules_results_and_locations_of_several_kinds(committed_repo: Path) -> None:
    token = "ghp_" + rnd(36, "sarif-gh")
    aws = "AKIA" + "".join(c for c in rnd(60, "aws").upper() if c in string.ascii_uppercase
                           + "234567")[:16]
    pw = rnd(16, "sarif-pw") + "#9"
    commit_files(committed_repo, {
        "z.py": f'DB_PASSWORD = "{pw}"\n',
        "a.py": f"# head\nT = '{token}'\nA = '{aws}'\n",
    })
    doc, text = sarif(committed_repo, "--all-files")
    check_structure(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    kinds = sorted(r["shortDescription"]["text"].removeprefix("Possible secret: ")
                   for r in rules)
    assert "GitHub Token" in kinds and "Secret Keyword" in kinds and "AWS Access Key" in kinds
    # One rule per kind, in a stable (sorted) order, ids derived from the kind's name.
    assert [r["shortDescription"]["text"] for r in rules] == sorted(
        r["shortDescription"]["text"] for r in rules)
    by_id = {r["id"]: r for r in rules}
    assert by_id["secret/github-token"]["name"] == "GithubToken"
    assert by_id["secret/aws-access-key"]["name"] == "AwsAccessKey"
    keyword = by_id["secret/secret-keyword"]
    assert keyword["properties"]["tags"] == ["security", "secret", "external/cwe/cwe-798"]
    # What GitHub code scanning reads: severity (a number as a string), precision, help link.
    assert keyword["properties"]["security-severity"] == "7.0"
    assert keyword["properties"]["precision"] == "medium"
    assert by_id["secret/github-token"]["properties"]["security-severity"] == "9.0"
    assert by_id["secret/github-token"]["properties"]["precision"] == "high"
    assert keyword["helpUri"].startswith("https://")
    found = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"])
             for r in run["results"]]
    # Results come sorted by file and line.
    assert found == sorted(found)
    assert ("a.py", 2, "secret/github-token") in found
    assert ("a.py", 3, "secret/aws-access-key") in found
    assert ("z.py", 1, "secret/secret-keyword") in found
    # The message shows only the masked start of the value.
    gh = next(r for r in run["results"] if r["ruleId"] == "secret/github-token")
    assert gh["message"]["text"] == "GitHub Token: ghp_…"
    # No secret and no bare SHA-1 of one (brute-forceable for weak passwords) anywhere.
    for value in (token, aws, pw):
        assert value not in text
        assert hashlib.sha1(value.encode()).hexdigest() not in text


def test_odd_paths_are_percent_encoded_uris(committed_repo: Path) -> None:
    token = "ghp_" + rnd(36, "odd")
    name = "dir with space/ø #1.py"
    commit_files(committed_repo, {name: f"T = '{token}'\n"})
    doc, _ = sarif(committed_repo, "--all-files")
    check_structure(doc)
    (result,) = doc["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert " " not in uri and "#" not in uri and uri.isascii()
    assert unquote(uri) == name


def test_fingerprints_are_stable_and_distinct(committed_repo: Path) -> None:
    pw = rnd(16, "fp") + "#9"
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{pw}"\n',
                                  "b.py": f'DB_PASSWORD = "{pw}"\n'})
    first, _ = sarif(committed_repo, "--all-files")

    def prints(doc: dict[str, Any]) -> dict[str, str]:
        return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]:
                r["partialFingerprints"]["ossaSecret/v1"] for r in doc["runs"][0]["results"]}

    before = prints(first)
    assert set(before) == {"a.py", "b.py"}
    # The same value in two files: two alerts, not one.
    assert before["a.py"] != before["b.py"]
    # The line moved: code scanning must see the same alert.
    commit_files(committed_repo, {"a.py": f'# moved\n\nDB_PASSWORD = "{pw}"\n'})
    second, _ = sarif(committed_repo, "--all-files")
    assert prints(second) == before
    lines = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]:
             r["locations"][0]["physicalLocation"]["region"]["startLine"]
             for r in second["runs"][0]["results"]}
    assert lines == {"a.py": 3, "b.py": 1}


def test_commit_range_results_carry_the_commit(committed_repo: Path) -> None:
    token = "ghp_" + rnd(36, "rev")
    commit_files(committed_repo, {"t.py": f"T = '{token}'\n"})
    head = git(committed_repo, "rev-parse", "HEAD").stdout.strip()
    doc, _ = sarif(committed_repo, "--rev", "HEAD~1..HEAD")
    check_structure(doc)
    (result,) = doc["runs"][0]["results"]
    assert result["properties"] == {"commit": head}
    # Staged-only scans name no commit.
    (committed_repo / "s.py").write_text(f"T = '{token}'\n")
    git(committed_repo, "add", "s.py")
    doc, _ = sarif(committed_repo, "--staged")
    (result,) = doc["runs"][0]["results"]
    assert "properties" not in result


def test_baseline_known_findings_are_left_out(committed_repo: Path) -> None:
    old, new = rnd(16, "known") + "#9", rnd(16, "new") + "#9"
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{old}"\n'})
    assert ossa(committed_repo, "scan", "--update-baseline").returncode == 0
    doc, _ = sarif(committed_repo, "--all-files", code=0)
    assert doc["runs"][0]["results"] == []
    commit_files(committed_repo, {"a.py": f'DB_PASSWORD = "{old}"\nAPI_PASSWORD = "{new}"\n'})
    doc, _ = sarif(committed_repo, "--all-files")
    (result,) = doc["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
