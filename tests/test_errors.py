"""One line for what the user must fix; a log file for what nobody expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ossa_hooks.errors import OssaError
from ossa_hooks.errors import handle_errors


def test_an_ossa_error_is_one_line_with_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> int:
        raise OssaError("config.yaml:3: bad key", code=1)

    assert handle_errors(fail, prog="tool") == 1
    assert capsys.readouterr().err == "tool: config.yaml:3: bad key\n"


def test_usage_is_the_default_code() -> None:
    assert OssaError("x").code == 2
    assert str(OssaError("plain message")) == "plain message"


def test_ctrl_c_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert handle_errors(interrupted) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_crash_goes_to_the_log(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def crash() -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    assert handle_errors(crash) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    log = tmp_path / "ossa-hooks" / "ossa-hooks.log"
    assert f"(details in {log})" in err
    assert "KeyError: 'missing'" in log.read_text()


def test_returns_the_function_code() -> None:
    assert handle_errors(lambda: 0) == 0
    assert handle_errors(lambda: 1) == 1


def test_a_reader_that_goes_away_is_no_error(committed_repo: Path) -> None:
    exe = Path(sys.executable).with_name("ossa-hooks")
    proc = subprocess.Popen([str(exe), "doctor"], cwd=committed_repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the first line written meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert err == ""


def test_a_missing_home_is_never_created(tmp_path: Path) -> None:
    """HOME=/nonexistent (as root): the crash log goes to the temporary folder instead."""
    home = tmp_path / "nonexistent"
    code = ("from ossa_hooks.errors import handle_errors\n"
            "def crash():\n    raise RuntimeError('boom')\n"
            "raise SystemExit(handle_errors(crash))\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode == 2
    assert not home.exists()
    assert f"(details in {tmp_path}/ossa-hooks.log)" in proc.stderr


@pytest.mark.parametrize(("errno_name", "words"), [
    ("EACCES", "cannot write in /repo/.git: Permission denied (the folder is read-only"),
    ("EROFS", "cannot write in /repo/.git: Read-only file system (the folder is read-only"),
    ("ENAMETOOLONG", '"/repo/.git/x\\ny": file name too long for the file system (use a'
                     " shorter name)"),
    ("ENOSPC", '"/repo/.git/x\\ny": No space left on device (free some space'),
])
def test_what_the_system_refuses_is_one_line(capsys: pytest.CaptureFixture[str],
                                             errno_name: str, words: str) -> None:
    import errno
    import os

    number = getattr(errno, errno_name)

    def refuse() -> int:
        raise OSError(number, os.strerror(number), "/repo/.git/x\ny")

    assert handle_errors(refuse) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ossa-hooks: {words}"), err
    assert err.count("\n") == 1 and "unexpected" not in err
