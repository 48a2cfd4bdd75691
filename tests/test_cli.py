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

    def boom(repo_arg: str | None, **kwargs: object) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(doctor, "doctor", boom)
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ossa-hooks: unexpected error: RuntimeError: disk on fire (details in ")
    log = Path(err.split("(details in ")[1].rstrip(")\n"))
    assert "Traceback" in log.read_text()
