"""The push gate: the configured checks of a commit's tree in the project's environment,
cached by tree and check configuration, reported as a table, a JSON file and an audit event;
and the pre-push action, which judges the tip of every pushed ref and fails closed on input
it cannot read. Running the checks (the gate worktree, a thread pool, process groups) is
``runner``'s job; the values are in ``checks``, memory in ``cache``, output in ``ui``.

What is judged is always a commit (the pushed tip, or ``--rev``), never the working tree:
uncommitted work has no say in the verdict. For an agent branch the checks come from the
trusted side (``trusted``): the configuration at its base, never the commit under judgement.

This module is on the pre-push hook's path, where a cached verdict must cost little:
everything that only running checks needs is imported when checks run.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks import git
from ossa_hooks.errors import OssaError
from ossa_hooks.judge.cache import Cache
from ossa_hooks.judge.cache import audit_verdict
from ossa_hooks.judge.cache import expected_seconds
from ossa_hooks.judge.cache import last_verdict as last_verdict
from ossa_hooks.judge.cache import workspace_dirs as workspace_dirs
from ossa_hooks.judge.cache import write_report
from ossa_hooks.judge.checks import SKIPPED
from ossa_hooks.judge.checks import Check as Check
from ossa_hooks.judge.checks import CheckResult as CheckResult
from ossa_hooks.judge.checks import Verdict as Verdict
from ossa_hooks.judge.checks import configured_at
from ossa_hooks.judge.checks import configured_checks as configured_checks
from ossa_hooks.judge.checks import git_cwd as git_cwd
from ossa_hooks.judge.checks import resolve as resolve
from ossa_hooks.judge.checks import touches as touches
from ossa_hooks.judge.ui import PREFIX
from ossa_hooks.judge.ui import Ui
from ossa_hooks.judge.ui import print_verdict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from collections.abc import Sequence
    from typing import TextIO

    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.hook_context import PushedRef
    from ossa_hooks.judge.trusted import Trusted


def judge(
    repo: RepoPaths,
    config: Config,
    rev: str = "HEAD",
    checks: Sequence[str] | None = None,
    use_cache: bool = True,
    quiet: bool = False,
    *,
    changed: Collection[str] | None = None,
    label: str | None = None,
    stream: TextIO | None = None,
    keep_going: bool = False,
    trusted: Trusted | None = None,
    base: str | None = None,
) -> Verdict:
    """Run the checks on ``rev``'s tree and return the verdict.

    ``changed``: the paths the push touches (checks with ``paths`` run only when one of them
    matches); None means "everything", so every selected check runs. ``label`` names what is
    judged in the output (e.g. the pushed ref). Output goes to ``stream`` (stderr by default)
    unless ``quiet``. The first failed check cancels the others unless ``keep_going``.
    ``trusted``: where the configuration came from and what in the commit needs a person's
    review (``trusted.trusted_for``); its configuration replaces ``config``. ``base``: the
    commit the changes are counted from (checks see it as ``OSSA_JUDGE_BASE``; the security
    check counts findings in changed lines only); the trusted base when None.
    """
    start = time.perf_counter()
    commit, tree = resolve(repo, rev)
    if base is None and trusted is not None:
        base = trusted.base
    return _judge(repo, config, rev, commit, tree, checks, use_cache, quiet, changed, label,
                  stream, start, keep_going, trusted, base)


def _judge(
    repo: RepoPaths,
    config: Config,
    rev: str,
    commit: str,
    tree: str,
    checks: Sequence[str] | None,
    use_cache: bool,
    quiet: bool,
    changed: Collection[str] | None,
    label: str | None,
    stream: TextIO | None,
    start: float,
    keep_going: bool = False,
    trusted: Trusted | None = None,
    base: str | None = None,
) -> Verdict:
    if trusted is not None:
        config = trusted.config
    selected = configured_checks(config, checks)
    use_cache = use_cache and bool(config.get("judge.cache"))
    ui = Ui(stream or sys.stderr, quiet)
    review = trusted.review if trusted is not None else ()
    cache = Cache(repo, tree, base)
    results: dict[str, CheckResult] = {}
    to_run: list[Check] = []
    from_cache: list[str] = []
    for check in selected:
        if changed is not None and check.paths and not touches(changed, check.paths):
            results[check.name] = CheckResult(
                check.name, SKIPPED, 0.0, None, f"not touched: {', '.join(check.paths)}")
            continue
        if not configured_at(repo, commit, check):
            results[check.name] = CheckResult(
                check.name, SKIPPED, 0.0, None,
                f"not configured in this project (if_configured: {check.if_configured[0]}...)")
            continue
        hit = cache.get(check) if use_cache else None
        if hit is not None:
            results[check.name] = hit
            from_cache.append(check.name)
        else:
            to_run.append(check)

    what = f"{commit[:10]}" + (f" ({label})" if label else "")
    if trusted is not None and trusted.source:
        ui.line(f"{PREFIX}: {what}: configuration from {trusted.source}")
    if to_run:
        from ossa_hooks import trust
        from ossa_hooks.judge.environment import project_environment
        from ossa_hooks.judge.runner import run_checks

        trust.require_trusted(repo, trust.JUDGE_CHECKS,
                              trust.repository_commands(config)[trust.JUDGE_CHECKS],
                              source=trusted.source if trusted is not None else None)
        env = project_environment(repo)
        jobs = int(config.get("judge.jobs")) or os.cpu_count() or 1
        jobs = max(1, min(jobs, len(to_run)))
        logs, _ = workspace_dirs(repo)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        ui.line(f"{PREFIX}: judging {what} in the gate worktree: "
                f"{', '.join(c.name for c in to_run)} ({jobs} job{'s' if jobs > 1 else ''})")
        for line in env.describe(to_run):
            ui.line(f"{PREFIX}: {line}")
        results.update(run_checks(repo, commit, to_run, jobs, ui, logs, f"{stamp}-{tree[:8]}",
                                  expected=expected_seconds(repo, cache), env=env,
                                  keep_going=keep_going, base=base))

    ordered = tuple(results[c.name] for c in selected)
    verdict = Verdict(
        passed=all(r.ok for r in ordered),
        tree=tree,
        cached=not to_run and bool(from_cache),
        results=ordered,
        commit=commit,
        seconds=time.perf_counter() - start,
        review=tuple(review),
    )
    if to_run:
        from ossa_hooks.judge.cache import KEEP_LOGS
        from ossa_hooks.judge.cache import prune

        prune(logs, "judge-", ".log", KEEP_LOGS)
        # A run of some checks only (--check) updates their entries, not the tree's verdict.
        cache.store([(c, results[c.name]) for c in to_run], verdict if checks is None else None)
    report = write_report(repo, verdict, rev, label)
    audit_verdict(repo, verdict, rev, label, report)
    if not quiet:
        print_verdict(ui, verdict, what, repo, from_cache)
    return verdict


# --- the pre-push action -----------------------------------------------------------------------


class _Target:
    """A distinct tree to judge, with the pushed refs whose tip it is."""

    __slots__ = ("base", "changed", "commit", "refs", "tree", "trusted")

    def __init__(self, commit: str, tree: str, refs: list[str], changed: set[str] | None,
                 trusted: Trusted | None = None, base: str | None = None) -> None:
        self.base = base
        self.commit = commit
        self.tree = tree
        self.refs = refs
        self.changed = changed  # None: judge as if everything changed
        self.trusted = trusted


def hook(ctx: HookContext) -> int:
    """``ossa-judge`` (pre-push): judge the tip of every pushed ref; refuse on any failure,
    and on pre-push input that cannot be read (fail closed)."""
    try:
        parsed = parse_push_input(ctx.stdin)
    except OssaError as e:
        print(f"{PREFIX}: {e.message}; push refused", file=sys.stderr)
        return 1
    # Under the pre-commit framework git's list is gone (at most one ref is passed): the refs
    # are decided from git (``HookContext.pushed_refs``), never an empty list judged as passed.
    refs = ctx.pushed_refs if ctx.via_pre_commit else parsed
    remote = ctx.args[0] if ctx.args else ""
    need_changes = any(c.paths for c in configured_checks(ctx.config))
    try:
        targets = plan_push(ctx.repo, refs, remote, need_changes, ctx.config)
    except OssaError as e:
        if isinstance(e, git.GitUnavailable):
            raise  # no git at all: the hook's one line and exit 2 (run.run reports it)
        print(f"{PREFIX}: {e.message}; push refused", file=sys.stderr)
        return 1
    code = 0
    for target in targets:
        verdict = _judge(ctx.repo, ctx.config, target.commit, target.commit, target.tree, None,
                         True, False, target.changed, ", ".join(target.refs), None,
                         time.perf_counter(), trusted=target.trusted,
                         base=target.base or (target.trusted.base if target.trusted else None))
        if not verdict.passed:
            code = 1
    if code:
        print(f"{PREFIX}: push refused", file=sys.stderr)
    return code


def parse_push_input(stdin: bytes) -> list[PushedRef]:
    """git's pre-push lines (``LOCAL-REF LOCAL-SHA REMOTE-REF REMOTE-SHA``) as records; a line
    that is not exactly that raises an error naming it (exit 1: nothing is pushed unjudged)."""
    from ossa_hooks.hook_context import PushedRef

    refs = []
    text = stdin.decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        problem = None
        if len(parts) != 4:
            problem = f"{len(parts)} fields, expected 4"
        elif not (_is_object_id(parts[1]) and _is_object_id(parts[3])):
            problem = "an object id is not 40 or 64 hexadecimal digits"
        elif len(parts[1]) != len(parts[3]):
            problem = "object ids of different lengths"
        if problem:
            shown = line if len(line) <= 120 else line[:117] + "..."
            raise OssaError(f"malformed pre-push input line {number} ({problem}): {shown!r}",
                            code=1)
        refs.append(PushedRef(*parts))
    return refs


def _is_object_id(word: str) -> bool:
    return len(word) in (40, 64) and all(c in "0123456789abcdef" for c in word)


def plan_push(repo: RepoPaths, refs: Sequence[PushedRef], remote: str,
              need_changes: bool, config: Config | None = None) -> list[_Target]:
    """One target per distinct tree (and trusted configuration) among the pushed tips;
    deletions judge nothing. A tip that is not a commit here raises an error."""
    live = [r for r in refs if not r.is_delete]
    if not live:
        return []
    query = "".join(f"{r.local_sha}^{{commit}}\n{r.local_sha}^{{tree}}\n" for r in live)
    proc = git.run(["cat-file", "--batch-check"], git_cwd(repo), input=query.encode())
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    targets: dict[tuple[str, str], _Target] = {}
    for i, ref in enumerate(live):
        commit_line, tree_line = lines[2 * i].split(), lines[2 * i + 1].split()
        if len(commit_line) != 3 or len(tree_line) != 3:
            raise OssaError(f"{ref.local_ref} ({ref.local_sha[:10]}) is not a commit in this "
                            "repository", code=1)
        commit, tree = commit_line[0], tree_line[0]
        trusted = None
        if config is not None:
            from ossa_hooks.judge.trusted import trusted_for

            trusted = trusted_for(repo, config, ref.local_ref, commit)
        base = push_base(repo, ref, commit, remote)
        # the trusted configuration's checks decide whether paths matter, not the pusher's
        wanted = need_changes if trusted is None else any(
            c.paths for c in configured_checks(trusted.config))
        changed = _changed_paths(repo, base, commit) if wanted else None
        key = (tree, trusted.source if trusted is not None else "")
        target = targets.get(key)
        if target is None:
            targets[key] = _Target(commit, tree, [ref.remote_ref], changed, trusted, base)
        else:
            target.refs.append(ref.remote_ref)
            if target.changed is not None:
                target.changed = None if changed is None else target.changed | changed
    return list(targets.values())


def changed_since(repo: RepoPaths, base: str, commit: str) -> set[str] | None:
    """Paths changed from ``base`` (its merge-base with ``commit``) to ``commit``; None (as
    if everything changed) when ``base`` is empty, all zeros or not a commit here."""
    cwd = git_cwd(repo)
    if not base.strip("0") or not git.ok(["cat-file", "-e", f"{base}^{{commit}}"], cwd):
        return None
    mb = git.run(["merge-base", base, commit], cwd, check=False)
    if mb.returncode != 0:
        return None
    proc = git.run(["diff-tree", "-r", "-z", "--name-only", "--no-renames",
                    mb.stdout.decode().strip(), commit], cwd)
    return set(git.split_z(proc.stdout))


def push_base(repo: RepoPaths, ref: PushedRef, commit: str, remote: str) -> str | None:
    """What the push of ``ref`` is compared with: what the remote has, or for a new branch its
    merge-base with the remote's default branch; None when there is neither."""
    cwd = git_cwd(repo)
    if set(ref.remote_sha) != {"0"} and git.ok(["cat-file", "-e", f"{ref.remote_sha}^{{commit}}"],
                                               cwd):
        return ref.remote_sha
    if remote and "/" not in remote and ":" not in remote:
        # The remote's default branch: its HEAD when known (a clone sets it), else its main or
        # master (a remote added by hand and pushed to has no HEAD of its own here).
        head = git.run(["symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD"], cwd, check=False)
        candidates = [head.stdout.decode().strip()] if head.returncode == 0 else [
            f"refs/remotes/{remote}/main", f"refs/remotes/{remote}/master"]
        for default in candidates:
            mb = git.run(["merge-base", default, commit], cwd, check=False)
            if mb.returncode == 0:
                return mb.stdout.decode().strip()
    return None


def _changed_paths(repo: RepoPaths, base: str | None, commit: str) -> set[str] | None:
    """Paths changed from ``base`` to ``commit``; None (everything) without a base."""
    if base is None:
        return None
    proc = git.run(["diff-tree", "-r", "-z", "--name-only", "--no-renames", base, commit],
                   git_cwd(repo))
    return set(git.split_z(proc.stdout))
