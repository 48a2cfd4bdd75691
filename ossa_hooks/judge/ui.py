"""What the judge shows people: live status lines while checks run, the summary table, the
findings and log tails of failed checks, and the rerun hint."""

from __future__ import annotations

import os
import time

from ossa_hooks import git
from ossa_hooks.judge.checks import CANCELLED
from ossa_hooks.judge.checks import FAILED
from ossa_hooks.judge.checks import MISSING
from ossa_hooks.judge.checks import PASSED
from ossa_hooks.judge.checks import SKIPPED
from ossa_hooks.judge.checks import TIMEOUT
from ossa_hooks.judge.checks import git_cwd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence
    from typing import TextIO

    from ossa_hooks.git import RepoPaths
    from ossa_hooks.judge.checks import CheckResult
    from ossa_hooks.judge.checks import Verdict

PREFIX = "ossa-judge"
TAIL_LINES = 20
# A failed check's log up to this many lines is shown whole; a longer one as its findings
# (every ``path:line`` line, pytest's FAILED/ERROR lines) and its last TAIL_LINES lines.
WHOLE_LOG_LINES = 60
MAX_FINDINGS = 2000


class Ui:
    """Status lines while checks run: redrawn in place on a terminal, one line per finished
    check otherwise. Only the main thread writes."""

    SPIN = "|/-\\"

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        isatty = getattr(stream, "isatty", None)
        self.live = (not quiet and callable(isatty) and bool(isatty())
                     and os.environ.get("TERM") != "dumb")
        from ossa_hooks.output import use_color

        self.color = self.live and use_color(stream)
        self.names: list[str] = []
        self.done: dict[str, CheckResult] = {}
        self.started: Mapping[str, float] = {}
        self.width = 0
        self.drawn = 0
        self.tick = 0

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def paint(self, text: str, status: str) -> str:
        if not self.color:
            return text
        code = {PASSED: "32", SKIPPED: "2", FAILED: "31", TIMEOUT: "31", MISSING: "33",
                CANCELLED: "2"}.get(status)
        return f"\x1b[{code}m{text}\x1b[0m" if code else text

    def start(self, names: Sequence[str], started: Mapping[str, float]) -> None:
        self.names = list(names)
        self.started = started
        self.width = max(len(n) for n in names)
        self.refresh()

    def finished(self, result: CheckResult) -> None:
        self.done[result.name] = result
        if not self.live and not self.quiet:
            self.line(f"{PREFIX}: {self.status_text(result.name)}")

    def status_text(self, name: str) -> str:
        r = self.done.get(name)
        label = name.ljust(self.width)
        if r is None:
            since = self.started.get(name)
            if since is None:
                return f"{label}  waiting"
            spin = self.SPIN[self.tick % len(self.SPIN)]
            return f"{label}  {spin} running {time.perf_counter() - since:.1f} s"
        word = {PASSED: "passed", FAILED: "failed", TIMEOUT: "timed out", MISSING: "missing",
                SKIPPED: "skipped", CANCELLED: "cancelled"}[r.status]
        text = f"{label}  {self.paint(word, r.status)} in {r.seconds:.1f} s"
        return f"{text} ({r.note})" if r.note and r.status not in (FAILED, MISSING) else text

    def refresh(self) -> None:
        if not self.live:
            return
        self.tick += 1
        out = []
        if self.drawn:
            out.append(f"\x1b[{self.drawn}F")
        for name in self.names:
            out.append(f"\x1b[2K  {self.status_text(name)}\n")
        self.stream.write("".join(out))
        self.stream.flush()
        self.drawn = len(self.names)

    def close(self) -> None:
        self.refresh()


def print_verdict(ui: Ui, verdict: Verdict, what: str, repo: RepoPaths,
                   from_cache: Sequence[str]) -> None:
    if verdict.cached and verdict.passed:
        for reason in verdict.review:
            ui.line(f"{PREFIX}: needs human review: {reason}")
        ui.line(f"{PREFIX}: {what} passed (cached verdict of tree {verdict.tree[:10]}: "
                f"{', '.join(from_cache)})")
        return
    if not verdict.results:
        ui.line(f"{PREFIX}: {what}: no checks enabled (judge.checks in .ossa-hooks.yaml)")
        return
    width = max(5, *(len(r.name) for r in verdict.results))
    rows = [f"{'check'.ljust(width)}  {'result':<9} {'seconds':>8}  note"]
    for r in verdict.results:
        word = "timed out" if r.status == TIMEOUT else r.status
        rows.append(f"{r.name.ljust(width)}  {ui.paint(word.ljust(9), r.status)} "
                    f"{r.seconds:8.2f}  {r.note}".rstrip())
    ui.line("\n".join(rows))
    for r in verdict.failed:
        if r.log and r.status != MISSING:
            for line in log_excerpt(r.name, r.log):
                ui.line(line)
    for reason in verdict.review:
        ui.line(f"{PREFIX}: needs human review: {reason}")
    if verdict.passed:
        n = len(verdict.results)
        ui.line(f"{PREFIX}: {what} passed ({n} check{'s' if n > 1 else ''}, "
                f"{verdict.seconds:.1f} s)")
        return
    names = [r.name for r in verdict.failed]
    rerun = "ossa-hooks judge"
    if not _is_head(repo, verdict.commit):
        rerun += f" --rev {verdict.commit[:10]}"
    for r in verdict.failed:
        if r.status == MISSING:
            ui.line(f"{PREFIX}: {r.name}: {r.note}")
    ui.line(f"{PREFIX}: {what} FAILED: {', '.join(names)}; rerun alone: "
            + "; ".join(f"{rerun} --check {n}" for n in names))


def _is_head(repo: RepoPaths, commit: str) -> bool:
    proc = git.run(["rev-parse", "-q", "--verify", "HEAD^{commit}"], git_cwd(repo), check=False)
    return proc.stdout.decode().strip() == commit


def log_excerpt(name: str, log: str) -> list[str]:
    """What to show of a failed check's log: all of it when short, else every finding line
    and the last lines (a long list of findings is never cut to its tail)."""
    import re

    lines = tail_lines(log, None)
    if len(lines) <= WHOLE_LOG_LINES:
        return [f"--- {name}: {log}", *lines, "---"]
    finding = re.compile(r"^\s*(?:-->\s*)?[\w./\\-]+\.\w+:\d+|^(?:FAILED|ERROR) |^Would reformat")
    head = lines[:-TAIL_LINES]
    found = [line for line in head if finding.match(line)]
    out = []
    if found:
        shown = found[:MAX_FINDINGS]
        more = f" ({len(found) - len(shown)} more in the log)" if len(found) > len(shown) else ""
        out += [f"--- {name}: {len(found)} finding line(s) of {log}{more}", *shown]
    out += [f"--- {name}: last {TAIL_LINES} lines of {log}", *lines[-TAIL_LINES:], "---"]
    return out


def tail_lines(path: str, n: int | None) -> list[str]:
    """The last ``n`` lines of a log file (read from its last 64 KiB); every line (of its last
    4 MiB) when ``n`` is None."""
    window = 64 * 1024 if n is not None else 4 * 1024 * 1024
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - window))
            data = f.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines if n is None else lines[-n:]
