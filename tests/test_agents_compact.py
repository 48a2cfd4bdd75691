"""A diff made to fit a budget: whole hunks, the most relevant to the task first, the stat of
every file, and the list of what was left out."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import git

from ossa_hooks.agents.compact import compact_diff
from ossa_hooks.agents.compact import hunks
from ossa_hooks.agents.tokens import count_tokens


def _repo(committed_repo: Path) -> tuple[Path, str, str]:
    r = committed_repo
    base = git(r, "rev-parse", "HEAD").stdout.strip()
    noise = "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n\n"
                    for i in range(200))
    (r / "handlers.py").write_text(noise)
    (r / "money.py").write_text("def refund(order):\n    return order.total\n")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "change")
    diff = git(r, "diff", "--no-color", base, "HEAD").stdout
    return r, base, diff


def test_hunks_of_a_diff(committed_repo: Path) -> None:
    _, _, diff = _repo(committed_repo)
    found = hunks(diff)
    assert [h[0].splitlines()[0] for h in found] == [
        "diff --git a/handlers.py b/handlers.py", "diff --git a/money.py b/money.py"]
    assert found[1][1] == "@@ -0,0 +1,2 @@" and "+def refund(order):" in found[1][2]


def test_the_relevant_hunk_fits_and_the_rest_is_named(committed_repo: Path) -> None:
    r, base, diff = _repo(committed_repo)
    assert count_tokens(diff) > 2000
    cut = compact_diff(r, base, diff, 300, "cl100k_base", "Fix the refund of an order")
    assert count_tokens(cut) <= 300
    assert re.search(r"money\.py +\| +2 \+", cut) and re.search(r"handlers\.py +\| 600 ", cut)
    assert "+def refund(order):" in cut and "handler_17" not in cut
    assert cut.rstrip().endswith("handlers.py @@ -0,0 +1,600 @@")
    assert "(hunks left out: 1)" in cut


def test_a_diff_that_fits_is_left_alone(committed_repo: Path) -> None:
    r, base, diff = _repo(committed_repo)
    assert compact_diff(r, base, diff, 100_000, "cl100k_base", "x") == diff
