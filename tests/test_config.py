"""Config validation: every error names the file, the line and the key; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks import config
from ossa_hooks.errors import OssaError

TEMPLATE = Path(config.__file__).resolve().parent.parent / "templates" / "ossa-hooks.yaml"


def error_of(text: str) -> str:
    with pytest.raises(OssaError) as info:
        config.parse(text, ".ossa-hooks.yaml")
    assert info.value.code == 2
    return info.value.message


def test_the_template_is_exactly_the_defaults() -> None:
    from ossa_hooks.resources import template

    assert config.parse(template("ossa-hooks.yaml").read_bytes(), "t") == config.defaults()


def test_empty_file_gives_the_defaults() -> None:
    assert config.parse("", "x") == config.defaults()
    assert config.parse("# only a comment\n", "x") == config.defaults()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\njudge:\n  checks:\n    tests:\n      run: pytest\n      timeout: soon\n",
            ".ossa-hooks.yaml:6: judge.checks.tests.timeout: expected a number",
        ),
        (
            "judge:\n  chekcs: {}\n",
            ".ossa-hooks.yaml:2: judge.chekcs: unknown key (did you mean 'checks'?)",
        ),
        (
            "bakup:\n  push: true\n",
            ".ossa-hooks.yaml:1: bakup: unknown key (did you mean 'backup'?)",
        ),
        ("backup:\n  push: maybe\n", ".ossa-hooks.yaml:2: backup.push: expected true or false"),
        ("backup:\n  keep: 1.5\n", ".ossa-hooks.yaml:2: backup.keep: expected an integer"),
        ("backup: [1, 2]\n", ".ossa-hooks.yaml:1: backup: expected a mapping"),
        ("secrets:\n  exclude: docs/\n", ".ossa-hooks.yaml:2: secrets.exclude: expected a list"),
        (
            "hooks:\n  pre-commit: [ossa-secret]\n",
            ".ossa-hooks.yaml:2: hooks.pre-commit[0]: unknown value 'ossa-secret' (did you mean"
            " 'ossa-secrets'?)",
        ),
        (
            "judge:\n  checks:\n    docs:\n      timeout: 3\n",
            ".ossa-hooks.yaml:4: judge.checks.docs: missing required key 'run'",
        ),
        ("version: 1\nbackup:\n  push: [true\n", ".ossa-hooks.yaml:4: invalid YAML"),
        ("- a\n- b\n", ".ossa-hooks.yaml:1: expected a mapping"),
        ("? [a]\n: 1\n", ".ossa-hooks.yaml:1: keys must be strings"),
    ],
)
def test_bad_config(text: str, message: str) -> None:
    assert error_of(text).startswith(message)


def test_check_entries_merge_with_the_defaults() -> None:
    data = config.parse("judge:\n  checks:\n    lint:\n      enabled: false\n", "x")
    checks = data["judge"]["checks"]
    assert checks["lint"]["enabled"] is False
    assert checks["lint"]["run"] == "ossa-hooks ruff check"
    assert set(checks) == {"tests", "lint", "format", "security"}


def test_skip_parsing() -> None:
    assert config.skipped_ids({"SKIP": " ossa-judge, ,ossa-secrets"}) == {
        "ossa-judge",
        "ossa-secrets",
    }
    assert config.skipped_ids({}) == frozenset()


def test_non_utf8_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".ossa-hooks.yaml").write_bytes(b"version: 1\nbase_branch: \xff\xfe\n")
    with pytest.raises(OssaError) as info:
        config.load(tmp_path)
    assert info.value.message.startswith(".ossa-hooks.yaml:")


def test_a_bad_config_refuses_the_commit_with_file_and_line(committed_repo: Path) -> None:
    assert ossa(committed_repo, "install").returncode == 0
    (committed_repo / ".ossa-hooks.yaml").write_text("judge:\n  jobs: many\n")
    proc = git(committed_repo, "commit", "--allow-empty", "-m", "x", check=False)
    assert proc.returncode != 0
    assert "ossa-hooks: .ossa-hooks.yaml:2: judge.jobs: expected an integer" in proc.stderr
    assert "Traceback" not in proc.stderr
    doctor = ossa(committed_repo, "doctor")
    assert doctor.returncode == 1
    assert "judge.jobs: expected an integer" in doctor.stdout
