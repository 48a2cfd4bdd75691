"""Entries of an ignore file (ossa_hooks.ignore_entries): what a file lacks, appending it once
under one header, negations after what they re-include; the result ignores as git reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks.errors import OssaError
from ossa_hooks.ignore_entries import GITIGNORE_HEADER
from ossa_hooks.ignore_entries import add_gitignore_entries
from ossa_hooks.ignore_entries import missing_entries


def test_appends_what_is_missing_once_under_one_header(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_bytes(b"build/\n*.log")  # no final newline
    assert add_gitignore_entries(path, [".env", "build/", "*.pem"]) == [".env", "*.pem"]
    assert path.read_text() == f"build/\n*.log\n{GITIGNORE_HEADER}\n.env\n*.pem\n"
    assert add_gitignore_entries(path, [".env", "*.pem"]) == []
    assert add_gitignore_entries(path, ["*.key"]) == ["*.key"]
    assert path.read_text().count(GITIGNORE_HEADER) == 1


def test_a_negation_counts_only_after_the_entry_it_reincludes(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_text("!.env.example\n")
    assert missing_entries(path, [".env.*", "!.env.example"]) == [".env.*", "!.env.example"]
    add_gitignore_entries(path, [".env.*", "!.env.example"])
    assert missing_entries(path, [".env.*", "!.env.example"]) == []


def test_the_result_ignores_as_git_reads_it(committed_repo: Path) -> None:
    add_gitignore_entries(committed_repo / ".gitignore",
                          [".env.*", "!.env.example", "/.worktrees/"])
    for name in (".env.local", ".env.example", ".worktrees/x/f"):
        (committed_repo / name).parent.mkdir(parents=True, exist_ok=True)
        (committed_repo / name).write_text("x\n")
    ignored = git(committed_repo, "status", "--porcelain", "--ignored").stdout
    assert "!! .env.local" in ignored and "!! .worktrees/" in ignored
    assert "?? .env.example" in ignored


def test_an_unreadable_file_is_one_error(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    with pytest.raises(OssaError, match="cannot read"):
        missing_entries(folder, ["x"])


@settings(max_examples=60, deadline=None)
@example(entries=["a", "!a", "a"], before=[])  # found by hypothesis: a repeated entry
@given(st.lists(st.from_regex(r"!?[a-z*./]{1,8}", fullmatch=True), max_size=6),
       st.lists(st.from_regex(r"[a-z*./]{1,8}", fullmatch=True), max_size=4))
def test_once_added_nothing_is_missing(tmp_path_factory: pytest.TempPathFactory,
                                      entries: list[str], before: list[str]) -> None:
    """Round trip: after adding, the same entries are all there, and adding again adds none."""
    path = tmp_path_factory.mktemp("ignore") / ".gitignore"
    path.write_text("".join(f"{line}\n" for line in before))
    add_gitignore_entries(path, entries)
    assert missing_entries(path, entries) == []
    assert add_gitignore_entries(path, entries) == []
