"""Paths that must never be committed, and the entries ``.gitignore`` must carry.

Matching is git's own: the forbidden patterns are handed to ``git ls-files --cached --ignored
--exclude=PATTERN`` on the index that is about to be committed, so wildmatch, negation with
``!``, directory patterns with a trailing ``/``, anchoring by a slash and sub-folders behave
exactly as they do in a ``.gitignore`` file. Only the configured patterns are used: the
repository's own ``.gitignore`` files can neither widen nor narrow the forbidden list.

The hook costs two git processes (the staged diff, then the match of those paths only); the
per-pattern attribution of the message runs only when a commit is refused.
"""

from __future__ import annotations

import os

from ossa_hooks import git
from ossa_hooks.errors import OssaError
from ossa_hooks.ignore_entries import add_gitignore_entries
from ossa_hooks.ignore_entries import missing_entries

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Mapping
    from collections.abc import Sequence

    from ossa_hooks.config import Config
    from ossa_hooks.hook_context import HookContext

    StrPath = str | os.PathLike[str]

HOOK_ID = "ossa-gitignore"

# What the staged diff counts as "put into the commit": added, copied, modified, type-changed
# (renames show as delete + add with --no-renames, so the new name is an add). Deletions pass:
# removing a forbidden file is the fix.
_STAGED_FILTER = "ACMT"
# Up to this many staged paths, git matches only those index entries (its pathspec matching is
# linear in their number); past it, the whole index is matched once and the result filtered.
_MAX_PATHSPECS = 512


# Plain slotted classes, not dataclasses: this module is on the pre-commit hook's path, where
# importing dataclasses (and inspect) would cost more than the check.


class Refused:
    """A path in the index that a forbidden pattern matches, and the pattern that matched."""

    __slots__ = ("path", "pattern")

    def __init__(self, path: str, pattern: str) -> None:
        self.path = path
        self.pattern = pattern

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Refused) and (self.path, self.pattern) == (
            other.path, other.pattern)

    def __hash__(self) -> int:
        return hash((self.path, self.pattern))

    def __repr__(self) -> str:
        return f"Refused({self.path!r}, {self.pattern!r})"


class Report:
    """The outcome of a check: refused paths and the required ``.gitignore`` entries missing."""

    __slots__ = ("missing", "refused")

    def __init__(self, refused: Sequence[Refused], missing: Sequence[str]) -> None:
        self.refused = tuple(refused)
        self.missing = tuple(missing)

    def __repr__(self) -> str:
        return f"Report(refused={self.refused!r}, missing={self.missing!r})"


def top_of(repo: git.RepoPaths) -> str:
    """The worktree folder of ``repo`` as a string; an error for a bare repository."""
    if repo.toplevel_str is None:
        raise OssaError("this is a bare repository: run this inside a worktree")
    return repo.toplevel_str


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
    env["GIT_DIR"] = repo.git_dir_str
    env["GIT_WORK_TREE"] = top_of(repo)
    index = source.get("GIT_INDEX_FILE")
    if index:
        env["GIT_INDEX_FILE"] = os.path.abspath(index)
    return env


def indexed_matches(
    top: StrPath,
    patterns: Sequence[str],
    env: Mapping[str, str],
    among: Sequence[str] = (),
) -> list[str]:
    """The index entries the ``patterns`` (one gitignore list, last match wins) exclude;
    only those named in ``among`` when it is given."""
    if not any(not p.startswith("!") for p in patterns):
        return []
    args = ["--literal-pathspecs", "ls-files", "-z", "--cached", "--ignored"]
    if len(patterns) <= _MAX_ARGV_PATTERNS:
        args += [f"--exclude={p}" for p in patterns]
        if among:
            args += ["--", *among]
        return git.split_z(git.run(args, top, env=env).stdout)
    # Many patterns: a command line would exceed the system's limit ("Argument list too
    # long"); git reads them from a file instead, in the same order, with the same rules.
    import tempfile

    fd, name = tempfile.mkstemp(prefix="ossa-gitignore-", suffix=".patterns")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(git.arg(p) + b"\n" for p in patterns))
        args.append(f"--exclude-from={name}")
        if among:
            args += ["--", *among]
        return git.split_z(git.run(args, top, env=env).stdout)
    finally:
        os.unlink(name)


def staged_paths(top: StrPath, env: Mapping[str, str]) -> list[str]:
    """Paths the commit adds or changes (deletions left out), index against HEAD."""
    args = [
        "diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-color",
        "--ignore-submodules=none", f"--diff-filter={_STAGED_FILTER}",
    ]
    return git.split_z(git.run(args, top, env=env).stdout)


# More patterns than this go to git in a file (and are attributed by halving the list).
_MAX_ARGV_PATTERNS = 64


def _as_pathspecs(paths: Sequence[str]) -> Sequence[str]:
    """``paths`` when they make a modest command line; else () (= the whole index)."""
    if len(paths) <= _MAX_PATHSPECS and sum(len(p) + 1 for p in paths) < 64_000:
        return paths
    return ()


def attribute(
    top: StrPath, patterns: Sequence[str], paths: Sequence[str], env: Mapping[str, str]
) -> list[Refused]:
    """For each path (already known to be excluded), the last positive pattern matching it.

    Each positive pattern is asked alone (one git process per pattern, run side by side, only
    on the paths in question): the answer names a pattern that really matches the path by
    git's rules. This runs only when a commit is being refused.
    """
    from concurrent.futures import ThreadPoolExecutor

    positive = [p for p in patterns if not p.startswith("!")]
    among = _as_pathspecs(paths)
    wanted = set(paths)
    if len(positive) > _MAX_ARGV_PATTERNS:
        halved = _bisect(top, positive, paths, env)
        return [Refused(p, halved.get(p, "?")) for p in sorted(wanted)]
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


def _bisect(top: StrPath, positive: Sequence[str], paths: Sequence[str],
            env: Mapping[str, str]) -> dict[str, str]:
    """``attribute`` for a long pattern list: halve it, later half first (later patterns win),
    so a path costs a few git processes per halving instead of one per pattern."""
    found: dict[str, str] = {}

    def walk(lo: int, hi: int, among: set[str]) -> None:
        if not among:
            return
        hits = set(indexed_matches(top, positive[lo:hi], env, _as_pathspecs(sorted(among))))
        hits &= among
        if not hits:
            return
        if hi - lo == 1:
            found.update(dict.fromkeys(hits, positive[lo]))
            return
        mid = (lo + hi) // 2
        walk(mid, hi, hits)
        walk(lo, mid, hits - found.keys())

    walk(0, len(positive), set(paths))
    return found


def forbidden(
    repo: git.RepoPaths,
    patterns: Sequence[str],
    *,
    staged_only: bool = True,
    environ: Mapping[str, str] | None = None,
) -> list[Refused]:
    """Index paths the forbidden ``patterns`` match: only those the commit adds or changes
    (``staged_only``), or every tracked one.

    Staged: the staged diff first, then git matches only those entries, so the cost follows
    the size of the change, not of the repository (matching a directory pattern makes git
    stat each entry it looks at: 50,000 tracked files cost over 100 ms).
    """
    top = top_of(repo)
    env = git_env(repo, environ)
    cleaned = clean_patterns(patterns)
    if not any(not p.startswith("!") for p in cleaned):
        return []
    if staged_only:
        staged = staged_paths(top, env)
        if not staged:
            return []
        among = _as_pathspecs(staged)
        matched = indexed_matches(top, cleaned, env, among)
        if not among:
            wanted = set(staged)
            matched = [p for p in matched if p in wanted]
    else:
        matched = indexed_matches(top, cleaned, env)
    if not matched:
        return []
    return attribute(top, cleaned, matched, env)


# --- required .gitignore entries ---------------------------------------------------------------


def fix(repo: git.RepoPaths, config: Config) -> list[str]:
    """Add the configured required entries to the worktree's ``.gitignore``; return them."""
    path = os.path.join(top_of(repo), ".gitignore")
    return add_gitignore_entries(path, config.get("gitignore.required"))


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
        path = os.path.join(top_of(repo), ".gitignore")
        missing = missing_entries(path, config.get("gitignore.required"))
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

    # `pre-commit run --all-files` (files the commit does not change): the whole index.
    whole = ctx.all_files
    report = check(ctx.repo, ctx.config, staged_only=not whole, environ=ctx.environ or None)
    for r in report.refused:
        print(refused_line(r), file=sys.stderr)
    code = 0
    line = summary(report, "tracked" if whole else "staged")
    if line:
        print(f"{line}: commit refused (skip once with SKIP={HOOK_ID})", file=sys.stderr)
        code = 1
    if report.missing:
        print(missing_line(report.missing), file=sys.stderr)
        if ctx.config.get("gitignore.check_required") == "fail":
            code = 1
    return code
