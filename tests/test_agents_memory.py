"""The memory store: full-text search (BM25 ranking, stemming, odd queries), newest-first
listing, the prompt format, and one database shared by every worktree of a repository."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import git
from conftest import ossa

from ossa_hooks.agents import memory as memory
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.git import repo_paths


@pytest.fixture
def paths(committed_repo: Path) -> RepoPaths:
    return repo_paths(committed_repo)


def add(repo: RepoPaths, task: str, content: str, branch: str = "agents/coder/x",
        kind: str = "task", workflow: int | None = 1) -> None:
    memory.add(repo, task=task, branch=branch, kind=kind, content=content, workflow=workflow)


def test_the_database_lives_in_the_common_dir(paths: RepoPaths, committed_repo: Path) -> None:
    add(paths, "greet", "added greet() to hello.py")
    db = committed_repo / ".git" / "ossa-hooks" / "memory.db"
    assert memory.db_path(paths) == db and db.is_file()
    # Nothing shows in the worktree.
    assert git(committed_repo, "status", "--porcelain").stdout == ""


def test_search_finds_and_round_trips_the_fields(paths: RepoPaths) -> None:
    add(paths, "greet", "added greet() to hello.py", branch="agents/coder/greet",
        kind="review", workflow=3)
    add(paths, "other", "nothing relevant here", workflow=None)
    found = memory.search(paths, "greet")
    assert len(found) == 1
    m = found[0]
    assert (m.task, m.branch, m.kind, m.content, m.workflow) == (
        "greet", "agents/coder/greet", "review", "added greet() to hello.py", 3)
    assert m.time > 0
    (none,) = memory.search(paths, "relevant")
    assert none.workflow is None


def test_best_match_comes_first(paths: RepoPaths) -> None:
    add(paths, "weak", "the parser was slow; we touched many unrelated files today")
    add(paths, "strong", "parser parser parser: rewrote the parser")
    add(paths, "none", "docs only")
    found = memory.search(paths, "parser")
    assert [m.task for m in found] == ["strong", "weak"]
    # More of the question's words matching beats one.
    add(paths, "both", "cache invalidation in the parser")
    assert memory.search(paths, "parser cache invalidation")[0].task == "both"


def test_any_word_matches_and_stems_match(paths: RepoPaths) -> None:
    add(paths, "greet", "Greeting users politely")
    add(paths, "cafe", "menu of the café")
    assert [m.task for m in memory.search(paths, "greets")] == ["greet"]  # porter stemming
    assert [m.task for m in memory.search(paths, "cafe")] == ["cafe"]  # diacritics folded
    assert {m.task for m in memory.search(paths, "zebra greet menu")} == {"greet", "cafe"}


def test_task_and_branch_are_searchable(paths: RepoPaths) -> None:
    add(paths, "login-page", "some content", branch="agents/coder/login-page")
    assert [m.task for m in memory.search(paths, "login")] == ["login-page"]


@pytest.mark.parametrize("query", [
    'greet"', '"greet', "greet AND", "NEAR(greet", "greet*", "content: greet", "task:greet",
    "greet -- DROP TABLE memories; --", "(greet)", "^greet", "greet OR OR", "{greet}",
    "greet's", "greet\x00",
])
def test_odd_queries_are_plain_words(paths: RepoPaths, query: str) -> None:
    add(paths, "greet", "added greet() to hello.py")
    found = memory.search(paths, query)
    assert [m.task for m in found] == ["greet"]
    assert memory.search(paths, "greet")[0].content == "added greet() to hello.py"


@pytest.mark.parametrize("query", ["", "   ", "the and for", "a to of", "?!*()\"'", "ab cd"])
def test_queries_without_a_usable_word_find_nothing(paths: RepoPaths, query: str) -> None:
    add(paths, "the", "the and for a to of ab cd")
    assert memory.search(paths, query) == []


def test_fts_query() -> None:
    assert memory.fts_query("Add the Greet greet() function, please") == (
        '"greet" OR "function" OR "please"')
    assert memory.fts_query('x" OR "y') == ""
    assert memory.fts_query("NEAR(foo bar)") == '"near" OR "foo" OR "bar"'
    many = " ".join(f"word{i}" for i in range(40))
    assert memory.fts_query(many).count(" OR ") == 31  # at most 32 words


def test_limit_and_exclude_branch(paths: RepoPaths) -> None:
    for i in range(4):
        add(paths, f"t{i}", "shared topic", branch=f"agents/coder/t{i}")
    assert len(memory.search(paths, "topic")) == 4
    assert len(memory.search(paths, "topic", limit=2)) == 2
    assert memory.search(paths, "topic", limit=0) == []
    found = memory.search(paths, "topic", exclude_branch="agents/coder/t1")
    assert sorted(m.task for m in found) == ["t0", "t2", "t3"]


def test_nothing_stored_yet(paths: RepoPaths) -> None:
    assert memory.search(paths, "anything") == []
    assert memory.recent(paths) == []
    assert not memory.db_path(paths).exists()  # reading does not create the database


def test_recent_is_newest_first(paths: RepoPaths) -> None:
    for i in range(5):
        add(paths, f"t{i}", f"content {i}")
    assert [m.task for m in memory.recent(paths)] == ["t4", "t3", "t2", "t1", "t0"]
    assert [m.task for m in memory.recent(paths, limit=2)] == ["t4", "t3"]


def test_format_for_prompt() -> None:
    assert memory.format_for_prompt([]) == "(no memories yet)"
    m = memory.Memory("greet", "b", "review", "line one\n\n   line\ttwo  ", 1.0, None)
    long = memory.Memory("big", "b", "task", "x" * 50, 1.0, 2)
    text = memory.format_for_prompt([m, long], width=10)
    assert text.splitlines() == ["- [greet, review] line one …", "- [big, task] xxxxxxxxx…"]
    assert memory.format_for_prompt([m]) == "- [greet, review] line one line two"


def test_shared_by_every_worktree(committed_repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "linked wt"
    git(committed_repo, "worktree", "add", "-q", "-b", "agents/coder/linked", str(wt))
    add(repo_paths(wt), "from-linked", "learnt in the linked worktree")
    add(repo_paths(committed_repo), "from-main", "learnt in the main worktree")
    assert memory.db_path(repo_paths(wt)) == memory.db_path(repo_paths(committed_repo))
    assert [m.task for m in memory.search(repo_paths(committed_repo), "linked")] == [
        "from-linked"]
    assert [m.task for m in memory.search(repo_paths(wt), "main")] == ["from-main"]
    proc = ossa(wt, "workflow", "memory", "learnt")
    assert proc.returncode == 0, proc.stderr
    assert "[from-linked, task] learnt in the linked worktree" in proc.stdout
    assert "[from-main, task] learnt in the main worktree" in proc.stdout


def test_cli_memory(committed_repo: Path) -> None:
    proc = ossa(committed_repo, "workflow", "memory")
    assert (proc.returncode, proc.stdout) == (0, "no memories found\n")
    paths = repo_paths(committed_repo)
    for i in range(3):
        add(paths, f"t{i}", f"topic number {i} " + "y" * 300)
    proc = ossa(committed_repo, "workflow", "memory", "-n", "2")
    lines = proc.stdout.splitlines()
    assert [x.split("]")[0] for x in lines] == ["- [t2, task", "- [t1, task"]
    assert all(x.endswith("…") and len(x) < 230 for x in lines)
    proc = ossa(committed_repo, "workflow", "memory", 'number" OR *')
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 3
    proc = ossa(committed_repo, "workflow", "memory", "unmatched")
    assert proc.stdout == "no memories found\n"


def test_concurrent_adds_all_land(paths: RepoPaths) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                add(paths, f"w{n}", f"concurrent entry {n}-{i}")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(memory.recent(paths, limit=1000)) == 60
    assert len(memory.search(paths, "concurrent", limit=100)) == 60


def test_a_database_that_is_not_one_is_an_error(paths: RepoPaths) -> None:
    db = memory.db_path(paths)
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not a database at all" * 100)
    for read in (lambda: memory.recent(paths), lambda: memory.search(paths, "login bug")):
        with pytest.raises(OssaError) as e:  # named with its fix, never "no memories"
            read()
        assert e.value.message == (f"{db}: the database is corrupt (file is not a database):"
                                   " run `ossa-hooks doctor --fix` to move it aside and start"
                                   " a new one")
