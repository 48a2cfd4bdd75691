"""Send-back notes in a task worktree's workspace: stored, read, marked read, bad lines skipped."""

from __future__ import annotations

from pathlib import Path

from ossa_hooks.agents import sendback


def test_notes_wait_until_an_execute_round_read_them(tmp_path: Path) -> None:
    assert sendback.pending(tmp_path) == []
    first = sendback.send_back(tmp_path, "  add tests  ", by="Ann", head="abc")
    second = sendback.send_back(tmp_path, "rename greet → hello", by="Ann", head="abc")
    assert first.note == "add tests"
    notes = sendback.pending(tmp_path)
    assert [n.note for n in notes] == ["add tests", "rename greet → hello"]
    assert sendback.as_prompt(notes).splitlines()[1:] == ["- add tests",
                                                          "- rename greet → hello"]
    sendback.done(tmp_path, [first])
    assert sendback.pending(tmp_path) == [second]
    done = (tmp_path / ".agents-workspace/data/send-back-done.jsonl").read_text(encoding="utf-8")
    assert "add tests" in done and "rename" not in done


def test_a_damaged_line_is_skipped(tmp_path: Path) -> None:
    sendback.send_back(tmp_path, "keep me", by="Ann", head="abc")
    path = tmp_path / ".agents-workspace/data/send-back.jsonl"
    with path.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    assert [n.note for n in sendback.pending(tmp_path)] == ["keep me"]


def test_done_with_nothing_writes_nothing(tmp_path: Path) -> None:
    sendback.done(tmp_path, [])
    assert not (tmp_path / ".agents-workspace").exists()
