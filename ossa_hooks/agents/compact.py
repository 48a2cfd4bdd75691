"""Making a prompt fit its budget instead of refusing it: a diff too large for the reviewer
becomes its ``--stat`` and the hunks most relevant to the task that fit, with a list of what
was left out (the reviewer can still read those files in its worktree)."""

from __future__ import annotations

import re
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.agents.budget import count_tokens
from ossa_hooks.agents.specs import WORKSPACE

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


def hunks(diff: str) -> list[tuple[str, str, str]]:
    """(file header, hunk header, hunk text) for every hunk of a unified diff."""
    found: list[tuple[str, str, str]] = []
    header = ""
    current: list[str] = []
    in_header = False

    def flush() -> None:
        if current:
            found.append((header, current[0], "\n".join(current)))
            current.clear()

    head_lines: list[str] = []
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            flush()
            head_lines = [line]
            in_header = True
            continue
        if line.startswith("@@"):
            flush()
            if in_header:
                header = "\n".join(head_lines)
                in_header = False
            current.append(line)
            continue
        if in_header:
            head_lines.append(line)
        elif current:
            current.append(line)
    flush()
    return found


def _score(hunk: str, words: set[str]) -> int:
    changed = [line for line in hunk.splitlines()[1:] if line[:1] in "+-"]
    found = {w.lower() for line in changed for w in _WORD.findall(line)}
    return len(found & words)


def compact_diff(worktree: Path, base: str, diff: str, tokens: int, encoding: str,
                 task: str) -> str:
    """``diff`` cut to ``tokens``: the stat, then whole hunks by relevance to ``task`` (words
    they share with it; in diff order among equals), then the hunks left out."""
    if count_tokens(diff, encoding) <= tokens:
        return diff
    stat = git.out(["diff", "--stat=100", "--no-color", base, "HEAD", "--", ".",
                    f":(exclude){WORKSPACE}"], worktree)
    head = f"(the diff is too large for the reviewer's budget: its stat, then the most relevant " \
           f"hunks that fit; read the others in the worktree)\n{stat}\n"
    left = tokens - count_tokens(head, encoding)
    words = {w.lower() for w in _WORD.findall(task)}
    found = hunks(diff)
    order = sorted(range(len(found)), key=lambda i: (-_score(found[i][2], words), i))
    chosen: set[int] = set()
    for i in order:
        header, _, text = found[i]
        cost = count_tokens(text, encoding) + count_tokens(header, encoding)
        if cost <= left:
            chosen.add(i)
            left -= cost
    out = [head]
    last_header = None
    for i, (header, _, text) in enumerate(found):
        if i in chosen:
            if header != last_header:
                out.append(header)
                last_header = header
            out.append(text)
    omitted = [f"{_file(h)} {hh}" for i, (h, hh, _) in enumerate(found) if i not in chosen]
    if omitted:
        tail = "\n".join(f"  {o}" for o in omitted[:50])
        more = f"\n  (… {len(omitted) - 50} more)" if len(omitted) > 50 else ""
        out.append(f"(hunks left out: {len(omitted)})\n{tail}{more}")
    return "\n".join(out)


def _file(header: str) -> str:
    first = header.splitlines()[0] if header else ""
    return first.rsplit(" b/", 1)[-1] if " b/" in first else first
