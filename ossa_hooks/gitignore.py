"""Paths that must never be committed, and the entries ``.gitignore`` must carry.

Matching is git's own: the forbidden patterns are handed to ``git ls-files --cached --ignored
--exclude=PATTERN`` on the index that is about to be committed, so wildmatch, negation with
``!``, directory patterns with a trailing ``/``, anchoring by a slash and sub-folders behave
exactly as they do in a ``.gitignore`` file. Only the configured patterns are used: the
repository's own ``.gitignore`` files can neither widen nor narrow the forbidden list.

The hook costs one git process when nothing forbidden is in the index; the staged diff and the
per-pattern attribution run only when something matched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ossa_hooks import git

if TYPE_CHECKING:
    from ossa_hooks.config import Config
    from ossa_hooks.hook_context import HookContext

GITIGNORE_HEADER = "# ossa-hooks: never commit these"
HOOK_ID = "ossa-gitignore"

# What the staged diff counts as "put into the commit": added, copied, modified, type-changed
# (renames show as delete + add with --no-renames, so the new name is an add). Deletions pass:
# removing a forbidden file is the fix.
_STAGED_FILTER = "ACMT"


@dataclass(frozen=True, slots=True)
class Refused:
    """A path in the index that a forbidden pattern matches, and the pattern that matched."""

    path: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of a check: refused paths and the required ``.gitignore`` entries missing."""

    refused: tuple[Refused, ...]
    missing: tuple[str, ...]


# --- patterns --------------------------------------------------------------------------------


def clean_patterns(lines: Iterable[str]) -> list[str]:
    """The patterns of ``lines`` as git reads a ``.gitignore``: blank lines and ``#`` comments
    dropped, trailing unescaped spaces trimmed (leading spaces are part of a pattern)."""
    patterns = []
    for line in lines:
        p = line.rstrip("\r\n")
        if not p or p.startswith("#"):
            continue
        p = _trim_trailing_spaces(p)
        if p and p != "!":
            patterns.append(p)
    return patterns


def _trim_trailing_spaces(p: str) -> str:
    end = len(p)
    while end > 0 and p[end - 1] == " ":
        # A space escaped with a backslash stays (an even run of backslashes escapes nothing).
        slashes = 0
        i = end - 2
        while i >= 0 and p[i] == "\\":
            slashes += 1
            i -= 1
        if slashes % 2:
            break
        end -= 1
    return p[:end]


# --- git ---------------------------------------------------------------------------------------


def git_env(repo: git.RepoPaths, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git on ``repo``: hook variables cleared, except the index.

    During ``git commit -a`` or ``git commit PATH`` the commit is built in a temporary index
    that git names in ``GIT_INDEX_FILE`` (possibly relative to the hook's folder); the check
    must read that index, not ``.git/index``.
    """
    source = os.environ if environ is None else environ
    env = git.no_git_env(source)
    env["GIT_DIR"] = str(repo.git_dir)
    env["GIT_WORK_TREE"] = str(repo.worktree)
    index = source.get("GIT_INDEX_FILE")
    if index:
        env["GIT_INDEX_FILE"] = os.path.abspath(index)
    return env


def indexed_matches(
    top: Path,
    patterns: Sequence[str],
    env: Mapping[str, str],
    among: Sequence[str] = (),
) -> list[str]:
    """The index entries the ``patterns`` (one gitignore list, last match wins) exclude;
    only those named in ``among`` when it is given."""
    if not any(not p.startswith("!") for p in patterns):
        return []
    args = ["--literal-pathspecs", "ls-files", "-z", "--cached", "--ignored"]
    args += [f"--exclude={p}" for p in patterns]
    if among:
        args += ["--", *among]
    return git.split_z(git.run(args, top, env=env).stdout)


def staged_paths(top: Path, env: Mapping[str, str]) -> set[str]:
    """Paths the commit adds or changes (deletions left out), index against HEAD."""
    args = [
        "diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff",
        "--ignore-submodules=none", f"--diff-filter={_STAGED_FILTER}",
    ]
    return set(git.split_z(git.run(args, top, env=env).stdout))


def attribute(
    top: Path, patterns: Sequence[str], paths: Sequence[str], env: Mapping[str, str]
) -> list[Refused]:
    """For each path (already known to be excluded), the last positive pattern matching it.

    Each positive pattern is asked alone (one git process per pattern, run side by side, only
    on the paths in question): the answer names a pattern that really matches the path by
    git's rules. This runs only when a commit is being refused.
    """
    from concurrent.futures import ThreadPoolExecutor

    positive = [p for p in patterns if not p.startswith("!")]
    # Past a few thousand paths, a pathspec list would outgrow the command line.
    among = paths if sum(len(p) + 1 for p in paths) < 64_000 else ()
    wanted = set(paths)
    with ThreadPoolExecutor(max_workers=min(8, len(positive)) or 1) as pool:
        hits = list(pool.map(lambda p: indexed_matches(top, [p], env, among), positive))
    found: dict[str, str] = {}
    for pattern, matched in zip(positive, hits, strict=True):  # later patterns win, as in git
        for path in matched:
            if path in wanted:
                found[path] = pattern
    for path in wanted - found.keys():  # cannot happen with git's rules; never lose a path
        found[path] = "?"
    return [Refused(p, found[p]) for p in sorted(found)]


def forbidden(
    repo: git.RepoPaths,
    patterns: Sequence[str],
    *,
    staged_only: bool = True,
    environ: Mapping[str, str] | None = None,
) -> list[Refused]:
    """Index paths the forbidden ``patterns`` match: only those the commit adds or changes
    (``staged_only``), or every tracked one."""
    top = repo.worktree
    env = git_env(repo, environ)
    cleaned = clean_patterns(patterns)
    matched = indexed_matches(top, cleaned, env)
    if not matched:
        return []
    if staged_only:
        staged = staged_paths(top, env)
        matched = [p for p in matched if p in staged]
        if not matched:
            return []
    return attribute(top, cleaned, matched, env)


# --- required .gitignore entries ---------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        from ossa_hooks.errors import OssaError

        raise OssaError(f"{path}: cannot read: {e.strerror}") from None
    return [line.strip() for line in data.decode("utf-8", "surrogateescape").splitlines()]


def missing_entries(path: Path, entries: Sequence[str]) -> list[str]:
    """The ``entries`` that ``path`` (a ``.gitignore``) lacks, in their order.

    A negation (``!x``) counts only when it comes after the last line of every non-negated
    entry listed before it: an earlier ``!.env.example`` does not re-include what a later
    ``.env.*`` excludes.
    """
    lines = _lines(path)
    last = {line: i for i, line in enumerate(lines)}
    missing: list[str] = []
    before = -1  # the last line of the positive entries seen so far
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        at = last.get(entry)
        if entry.startswith("!"):
            if at is None or at < before:
                missing.append(entry)
            continue
        if at is None:
            missing.append(entry)
            before = len(lines)  # will be appended after everything there
        else:
            before = max(before, at)
    return missing


def add_gitignore_entries(path: Path, entries: Sequence[str]) -> list[str]:
    """Append the ``entries`` missing from ``path`` under one header; return what was added.

    Running it again adds nothing: an entry already present is never written twice (except a
    negation that must follow a newly added entry to keep its effect).
    """
    missing = missing_entries(path, entries)
    if not missing:
        return []
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    header = [] if GITIGNORE_HEADER in _lines(path) else [GITIGNORE_HEADER]
    block = "\n".join([*header, *missing])
    sep = b"" if not data or data.endswith(b"\n") else b"\n"
    path.write_bytes(data + sep + block.encode("utf-8", "surrogateescape") + b"\n")
    return missing


def fix(repo: git.RepoPaths, config: Config) -> list[str]:
    """Add the configured required entries to the worktree's ``.gitignore``; return them."""
    return add_gitignore_entries(repo.worktree / ".gitignore", config.get("gitignore.required"))


def check(
    repo: git.RepoPaths,
    config: Config,
    *,
    staged_only: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Report:
    refused = forbidden(
        repo, config.get("gitignore.forbidden"), staged_only=staged_only, environ=environ
    )
    missing: list[str] = []
    if config.get("gitignore.check_required") != "ignore":
        missing = missing_entries(repo.worktree / ".gitignore", config.get("gitignore.required"))
    return Report(tuple(refused), tuple(missing))


# --- output -------------------------------------------------------------------------------------


def shown(path: str) -> str:
    """A path as one printable line: undecodable bytes and control characters escaped."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        text = "".join(c if ord(c) >= 32 and c != "\x7f" else f"\\x{ord(c):02x}" for c in text)
    return text


def refused_line(r: Refused) -> str:
    import shlex

    quoted = shlex.quote(shown(r.path))
    rm = f"git rm --cached -- {quoted}" if r.path.startswith("-") else f"git rm --cached {quoted}"
    return (
        f"{shown(r.path)}: matches forbidden pattern '{r.pattern}'"
        f" (remove with {rm}; config gitignore.forbidden)"
    )


def missing_line(missing: Sequence[str]) -> str:
    return (
        f".gitignore: missing required entries: {', '.join(missing)}"
        " (add them with `ossa-hooks gitignore fix`; config gitignore.required)"
    )


def summary(report: Report, what: str) -> str | None:
    """The summary line of the refused paths (None when there are none)."""
    n = len(report.refused)
    if not n:
        return None
    return f"{HOOK_ID}: {n} {what} path{'s' if n != 1 else ''} must never be committed"


# --- the hook -----------------------------------------------------------------------------------


def hook(ctx: HookContext) -> int:
    """pre-commit: refuse staged forbidden paths; report missing required entries."""
    import sys

    report = check(ctx.repo, ctx.config, staged_only=True, environ=ctx.environ or None)
    for r in report.refused:
        print(refused_line(r), file=sys.stderr)
    code = 0
    line = summary(report, "staged")
    if line:
        print(f"{line}: commit refused (skip once with SKIP={HOOK_ID})", file=sys.stderr)
        code = 1
    if report.missing:
        print(missing_line(report.missing), file=sys.stderr)
        if ctx.config.get("gitignore.check_required") == "fail":
            code = 1
    return code
