"""Secret scanning of what a commit adds: the engine, the ``ossa-secrets`` action, the output.

The staged change is read with one ``git diff --cached`` (raw records and the ``-U0`` patch in
one stream) and parsed here: only the *added* lines of the *staged* blobs are scanned, so a
partially staged file is judged by what will be committed. The scan runs in three steps:

0. a small patch is first looked at with ``bytes.find`` alone: the anchors' literals, their
   character-class tails, a bytes-level "NAME = literal" test. Most commits end here, without
   importing the regex engine;
1. each provider's anchors (cheap literal-prefixed regexes) run once over the whole lower-cased
   patch; the added lines they hit are the candidates (most lines never get further);
2. a candidate line is handed to the providers whose anchor hit it (and whose precheck it
   matches): detect-secrets' ``RegexBasedDetector`` plugins and the extra plugins of
   ``ossa_hooks/secrets/plugins/``, imported on first use only;
3. precision filters drop documented examples, placeholders, digests, UUIDs, colours and
   values read from the environment; the ``pragma: allowlist secret`` comment, the baseline
   and the configured excludes let known findings pass.
"""

from __future__ import annotations

import os
import sys

from ossa_hooks import git
from ossa_hooks.errors import OssaError
from ossa_hooks.secrets.patch import DIFF_OPTIONS
from ossa_hooks.secrets.patch import as_patch
from ossa_hooks.secrets.report import HOW_TO_ALLOW
from ossa_hooks.secrets.report import format_text
from ossa_hooks.secrets.report import summary
from ossa_hooks.secrets.scanner import Engine
from ossa_hooks.secrets.scanner import Finding
from ossa_hooks.secrets.scanner import ScanResult
from ossa_hooks.secrets.scanner import mask

__all__ = ["DIFF_OPTIONS", "HOW_TO_ALLOW", "Engine", "Finding", "ScanResult", "apply_baseline",
           "engine_for", "format_text", "hook", "load_baseline", "mask", "scan_all_files",
           "scan_paths", "scan_rev", "scan_staged", "summary"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Mapping
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from ossa_hooks.config import Config
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.secrets.baseline import Baseline

# --- what to scan -----------------------------------------------------------------------------


def engine_for(config: Config, *, root: str | os.PathLike[str] | None = None) -> Engine:
    """The engine the configuration asks for; a ``.gitleaks.toml`` at ``root`` (default: the
    folder of ``.ossa-hooks.yaml``) brings its rules and allowlists."""
    if root is None and config.path:
        root = os.path.dirname(config.path)
    rules = allowlist = None
    if root is not None and os.path.isfile(os.path.join(root, ".gitleaks.toml")):
        from ossa_hooks.secrets import gitleaks_config

        loaded = gitleaks_config.load(os.path.join(root, ".gitleaks.toml"))
        rules, allowlist = loaded.rules, loaded
    engine = Engine(entropy=bool(config.get("secrets.entropy")),
                    max_file_size=int(config.get("secrets.max_file_size")), rules=rules)
    engine.allowlist = allowlist
    return engine


def pathspecs(config: Config, files: Sequence[str] = ()) -> list[str]:
    """Git pathspecs: the given files (literal) minus the configured excludes and the baseline."""
    specs = [f":(top,literal){f}" for f in files]
    for pattern in config.get("secrets.exclude"):
        specs.append(f":(top,exclude,glob){_glob(pattern)}")
    specs.append(f":(top,exclude,literal){config.get('secrets.baseline')}")
    return specs


def _glob(pattern: str) -> str:
    """A gitignore-like pattern as a pathspec glob: no slash matches at any depth, a trailing
    slash means a folder."""
    p = pattern.lstrip("/") if pattern.startswith("/") else pattern
    if p.endswith("/"):
        p += "**"
    if "/" not in pattern.rstrip("/"):
        p = "**/" + p
    return p


def scan_staged(repo: git.RepoPaths, config: Config, *, env: Mapping[str, str] | None = None,
                files: Sequence[str] = (), engine: Engine | None = None) -> ScanResult:
    """Scan the added lines of the staged change (what ``git commit`` would record).

    ``env`` is the hook's environment: git points ``GIT_INDEX_FILE`` at a temporary index for
    ``git commit -a`` and ``git commit PATH``, and that index is what will be committed.
    """
    args = ["diff", "--cached", *DIFF_OPTIONS, "--", *pathspecs(config, files)]
    eng = engine or engine_for(config, root=repo.toplevel_str)
    return eng.scan_patch(git.call(args, repo.toplevel_str or ".", env=env).stdout)


def scan_all_files(repo: git.RepoPaths, config: Config, *,
                   engine: Engine | None = None, files: Sequence[str] = ()) -> ScanResult:
    """Scan every file in the index (or ``files`` of it), as if all were being added."""
    empty = git.out(["hash-object", "-t", "tree", "--stdin"], repo.worktree, input=b"")
    args = ["diff", "--cached", *DIFF_OPTIONS, empty, "--", *pathspecs(config, files)]
    eng = engine or engine_for(config, root=repo.worktree)
    return eng.scan_patch(git.call(args, repo.worktree).stdout)


def scan_rev(repo: git.RepoPaths, config: Config, rev: str | None, *,
             engine: Engine | None = None) -> ScanResult:
    """Scan what each commit of ``rev`` (``A..B``, one commit, or None for the whole history
    of every ref) added, commit by commit, from one ``git diff-tree --stdin`` stream.

    A merge commit adds nothing of its own here: its parents' commits carry the changes.
    """
    from ossa_hooks.secrets.history import commits_of
    from ossa_hooks.secrets.history import scan_commits

    eng = engine or engine_for(config, root=repo.worktree)
    return scan_commits(repo.worktree, commits_of(repo.worktree, rev), pathspecs(config), eng)


def scan_paths(paths: Sequence[str], config: Config, *, root: Path | None = None,
               engine: Engine | None = None) -> ScanResult:
    """Scan files on disk (folders recursively, ``.git`` skipped), every line as added; many
    files are shared between two processes when two CPUs are free."""
    eng = engine or engine_for(config, root=root)
    excludes = _excludes(config.get("secrets.exclude"))
    baseline = config.get("secrets.baseline")
    files = []
    for path in _walk(paths):
        shown = _display(path, root)
        if shown != baseline and (excludes is None or not excludes.match_file(shown)):
            files.append((path, shown))
    if len(files) >= PARALLEL_FILES:
        from ossa_hooks.secrets.history import in_two
        from ossa_hooks.secrets.history import two_cpus

        if two_cpus():
            middle = len(files) // 2
            return in_two(lambda: _scan_files(files[:middle], eng),
                          lambda: _scan_files(files[middle:], eng))
    return _scan_files(files, eng)


PARALLEL_FILES = 200


def _scan_files(files: Sequence[tuple[str, str]], eng: Engine) -> ScanResult:
    total = ScanResult()
    for path, shown in files:
        try:
            if os.path.islink(path):
                total.not_files += 1
                continue
            size = os.path.getsize(path)
            if size > eng.max_file_size:
                total.too_large += 1
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OssaError(f"{shown}: cannot read: {e.strerror}") from None
        if b"\0" in data[:8000]:
            total.binary += 1
            continue
        total.merge(eng.scan_patch(as_patch(shown, data)))
    return total


def _walk(paths: Sequence[str]) -> Iterator[str]:
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                for n in sorted(names):
                    yield os.path.join(root, n)
        elif os.path.lexists(p):
            yield p
        else:
            raise OssaError(f"{p}: no such file or folder")


def _display(path: str, root: Path | None) -> str:
    from pathlib import Path

    p = os.path.abspath(path)
    if root is not None:
        try:
            return Path(p).relative_to(root).as_posix()
        except ValueError:
            pass
    return Path(path).as_posix()


def _excludes(patterns: Sequence[str]) -> Any:
    """The configured excludes matched as git matches them (gitignore rules: ``docs/*.md``
    stays in ``docs/``, a name without a slash matches at any depth, ``dir/`` a folder)."""
    if not patterns:
        return None
    import pathspec

    return pathspec.PathSpec.from_lines("gitwildmatch", patterns)



# --- the baseline and the report ------------------------------------------------------------


def apply_baseline(result: ScanResult, baseline: Baseline | None) -> None:
    """Drop the findings the baseline already knows; count them as allowed."""
    if baseline is None:
        return
    kept = [f for f in result.findings if not baseline.allows(f)]
    result.allowed += len(result.findings) - len(kept)
    result.findings = kept


def load_baseline(repo: git.RepoPaths, config: Config) -> Baseline | None:
    from ossa_hooks.secrets.baseline import load

    return load(os.path.join(str(repo.worktree), str(config.get("secrets.baseline"))))


def hook(ctx: HookContext) -> int:
    """The ``ossa-secrets`` action: refuse the commit when its staged content holds a secret."""
    # A baseline that exists is read on every commit, so a corrupt one is reported at once,
    # not only on the day a candidate secret needs it (a stat when there is none).
    top = ctx.repo.toplevel_str
    has_baseline = top is not None and os.path.exists(
        os.path.join(top, str(ctx.config.get("secrets.baseline"))))
    baseline = load_baseline(ctx.repo, ctx.config) if has_baseline else None
    # `pre-commit run --all-files` passes every tracked file: those are scanned whole.
    if ctx.all_files:
        result = scan_all_files(ctx.repo, ctx.config, files=ctx.filenames)
    else:
        result = scan_staged(ctx.repo, ctx.config, env=ctx.environ or None, files=ctx.filenames)
    if result.findings:
        apply_baseline(result, baseline)
    if not result.findings:
        return 0
    out = sys.stderr
    for line in format_text(result):
        print(line, file=out)
    where = "the files pre-commit passed" if ctx.all_files else "the staged changes"
    print(f"ossa-secrets: {summary(result, where)}: commit refused", file=out)
    print(f"hint: {HOW_TO_ALLOW}", file=out)
    return 1
