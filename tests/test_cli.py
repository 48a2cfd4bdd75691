"""The command line itself: help, version, usage errors, crash handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ossa

from ossa_hooks import __version__
from ossa_hooks.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ossa-hooks {__version__}"


def test_help_lists_the_commands(tmp_path: Path) -> None:
    proc = ossa(tmp_path, "--help")
    assert proc.returncode == 0
    for name in ("install", "uninstall", "run", "doctor", "audit"):
        assert f"    {name}" in proc.stdout


def test_no_command_prints_help(tmp_path: Path) -> None:
    proc = ossa(tmp_path)
    assert proc.returncode == 0
    assert "usage: ossa-hooks" in proc.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = ossa(tmp_path, "frobnicate")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_ossa_is_the_same_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("ossa")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == f"ossa-hooks {__version__}"


def test_an_unexpected_error_is_one_line_and_logged(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ossa_hooks import doctor

    def boom(repo_arg: str | None, **options: object) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(doctor, "doctor", boom)
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ossa-hooks: unexpected error: RuntimeError: disk on fire (details in ")
    log = Path(err.split("(details in ")[1].rstrip(")\n"))
    assert "Traceback" in log.read_text()


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_on_every_command_keeps_errors(committed_repo: Path, where: str) -> None:
    args = ["backup", "list"]
    argv = ["--quiet", *args] if where == "before" else [*args, "-q"]
    proc = ossa(committed_repo, *argv)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    bad = ossa(committed_repo, *(["-q", "backup", "show", "nope"] if where == "before"
                                 else ["backup", "show", "nope", "-q"]))
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.startswith("ossa-hooks: ")


def test_every_sub_command_accepts_quiet_and_verbose() -> None:
    from ossa_hooks.cli import _subparsers
    from ossa_hooks.cli import build_parser

    parsers = _subparsers(build_parser())
    assert len(parsers) > 20
    for p in parsers:
        options = {s for a in p._actions for s in a.option_strings}
        assert {"-q", "--quiet", "-v", "--verbose"} <= options, p.prog


def test_verbose_shows_each_git_command(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "backup", "list", "--verbose")
    assert proc.returncode == 0
    assert "+ git rev-parse --path-format=absolute" in proc.stderr


def test_quiet_and_verbose_together_is_a_usage_error(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "-q", "-v", "audit")
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr


def test_the_audit_command_is_recorded_and_says_its_limit(committed_repo: Path) -> None:
    assert ossa(committed_repo, "audit").returncode == 0
    proc = ossa(committed_repo, "audit", "--format", "json")
    import json

    names = [e["name"] for e in json.loads(proc.stdout)]
    assert names == ["audit"]  # the first `audit` is in the trail
    for _ in range(2):
        ossa(committed_repo, "backup", "list")
    limited = ossa(committed_repo, "audit", "-n", "3").stdout.splitlines()
    assert len(limited) == 4 and limited[-1] == "(the last 3 events; -n N shows N, -n 0 all)"
    everything = ossa(committed_repo, "audit", "-n", "0").stdout.splitlines()
    assert not everything[-1].startswith("(the last")
    assert ossa(committed_repo, "audit", "-n", "-1").returncode == 2


def test_a_sub_command_option_named_command_does_not_rename_the_audit_event(
        committed_repo: Path) -> None:
    import json

    proc = ossa(committed_repo, "spawn", "--provider", "command", "--command", "echo hi", "t")
    events = json.loads(ossa(committed_repo, "audit", "--format", "json").stdout)
    commands = [e for e in events if e["kind"] == "command"]
    assert commands[0]["name"] == "spawn", commands
    assert commands[0]["exit_code"] == proc.returncode
