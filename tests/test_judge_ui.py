"""What the judge shows of a failed check's log."""

from __future__ import annotations

from pathlib import Path

from ossa_hooks.judge.ui import log_excerpt


def test_a_short_log_is_shown_whole(tmp_path: Path) -> None:
    log = tmp_path / "lint.log"
    log.write_text("$ ruff check --no-fix .\nF401 `os` imported but unused\nFound 1 error.\n")
    assert log_excerpt("lint", str(log)) == [
        f"--- lint: {log}", "$ ruff check --no-fix .", "F401 `os` imported but unused",
        "Found 1 error.", "---"]


def test_a_long_log_shows_every_finding_and_its_tail(tmp_path: Path) -> None:
    findings = [f"pkg/m{i:03}.py:5: B602 [HIGH/HIGH] subprocess call with shell=True"
                for i in range(150)]
    noise = [f"progress {i}" for i in range(100)]
    log = tmp_path / "security.log"
    log.write_text("\n".join(["$ ossa-hooks bandit", *findings, *noise, "bandit: 150 findings"])
                   + "\n")
    shown = log_excerpt("security", str(log))
    assert shown[0] == f"--- security: 150 finding line(s) of {log}"
    assert shown[1:151] == findings  # not only the last 20 lines
    assert shown[151] == f"--- security: last 20 lines of {log}"
    assert shown[-2:] == ["bandit: 150 findings", "---"]
    assert not any(line.startswith("progress 1") for line in shown[:151])
