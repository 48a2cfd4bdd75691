"""The ``ossa-guard`` action: the guard rails of :mod:`ossa_hooks.worktree.guard` in the hooks.

For an agent process (``identity.current`` is not None) each hook type applies its rule; a
refusal prints one line naming the rule and what to do instead, records an audit event
(kind ``guard``, outcome ``refused`` or ``reported``) and makes the hook fail. A person is never
refused: at most a note when committing in an agent's worktree.

The installed ``reference-transaction`` shim starts Python only when ``OSSA_AGENT_ID`` is set
and the state is ``prepared`` (:func:`shell_gate`): a person's ref updates cost a shell test.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.doctor import Finding
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.identity import Identity
    from ossa_hooks.worktree.guard import Refusal
    from ossa_hooks.worktree.guard import Scope
    from ossa_hooks.worktree.guard_layout import Layout

HOOK_TYPES = ("pre-commit", "reference-transaction", "pre-push", "post-checkout")


def shell_gate(hook_type: str) -> str:
    """The shell test the installed shim passes before it starts the interpreter (empty: none).

    ``reference-transaction`` runs on every ref update of everyone: only an agent's
    ``prepared`` transactions can be refused, so nothing else starts Python.
    """
    if hook_type == "reference-transaction":
        return '[ -n "${OSSA_AGENT_ID:-}" ] && [ "$1" = prepared ]'
    return ""


def hook(ctx: HookContext) -> int:
    from ossa_hooks import identity
    from ossa_hooks.worktree.guard import scope_of
    from ossa_hooks.worktree.guard_layout import Layout

    start = time.perf_counter()
    agent = identity.current(ctx.environ)
    if ctx.repo.toplevel_str is None:
        return 0  # a bare repository: no worktree to keep anyone in
    if ctx.hook_type == "post-checkout" and ctx.args[:1] and set(ctx.args[0]) == {"0"}:
        _auto_adopt(ctx)  # git has just made this worktree
    if ctx.hook_type == "reference-transaction" and ctx.args[:1] != ("prepared",):
        return 0
    verb = "refused"
    if agent is None:
        # A process with no identity in an adopted worktree is taken for its agent, but only
        # warned: it may as well be a person.
        agent = _adopted_agent(ctx)
        if agent is None:
            if ctx.hook_type == "pre-commit":
                _note_person(ctx)
            return 0
        verb = "warning"
    layout = Layout(ctx.repo.common_dir_str, ctx.repo.toplevel_str, ctx.repo.git_dir_str)
    scope = scope_of(agent, layout, ctx.config)
    refusal = _decide(ctx, scope, layout)
    if refusal is None:
        return 0
    if verb == "warning":
        print(refusal.line(verb), file=sys.stderr)
        audit_refusal(ctx.repo, ctx.hook_type, agent, refusal, "warned", start)
        return 0
    if ctx.hook_type == "post-checkout":
        verb = "reported"
        saved = _snapshot(ctx)
        if saved:
            refusal.detail["snapshot"] = saved
            refusal.instead += f" (uncommitted work saved to {saved})"
    print(refusal.line(verb), file=sys.stderr)
    audit_refusal(ctx.repo, ctx.hook_type, agent, refusal, verb, start)
    return 1


def _decide(ctx: HookContext, scope: Scope, layout: Layout) -> Refusal | None:
    from ossa_hooks.worktree import guard

    if ctx.hook_type == "pre-commit":
        return guard.check_commit(scope, layout)
    if ctx.hook_type == "reference-transaction":
        updates = []
        for line in ctx.stdin.decode("utf-8", "surrogateescape").splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3:
                updates.append((parts[0], parts[1], parts[2]))
        here = layout.here.path
        return guard.check_ref_updates(scope, layout, updates,
                                       lambda new: _index_holds(here, new))
    if ctx.hook_type == "pre-push":
        refs = [(r.local_ref, r.local_sha, r.remote_ref, r.remote_sha) for r in ctx.pushed_refs]
        return guard.check_push(scope, refs, _tip(layout.here.path, scope.branch))
    if ctx.hook_type == "post-checkout":
        if ctx.args[2:3] != ("1",) or set(ctx.args[0]) == {"0"}:
            return None  # a file checkout, or a new worktree's (or clone's) first checkout
        return guard.check_checkout(scope, layout)
    return None


def _index_holds(worktree: str, commit: str) -> bool:
    """Does the worktree's index already hold ``commit``'s tree?"""
    from ossa_hooks import git

    proc = git.call(["diff-index", "--cached", "--quiet", commit, "--"], worktree, check=False)
    return proc.returncode == 0


def _tip(worktree: str, branch: str) -> str | None:
    if not branch:
        return None
    from ossa_hooks import git

    proc = git.call(["rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}"],
                    worktree, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _snapshot(ctx: HookContext) -> str | None:
    """The worktree's uncommitted work, saved before anything else happens to it."""
    from ossa_hooks.backup import snapshot as backup
    from ossa_hooks.errors import OssaError

    try:
        return backup.snapshot(ctx.repo, hook="guard", config=ctx.config,
                               message="guard: checkout outside the agent's branch")
    except OssaError as e:
        print(f"ossa-hooks: guard: no snapshot: {e.message}", file=sys.stderr)
        return None


def _auto_adopt(ctx: HookContext) -> None:
    from ossa_hooks.worktree import adopt

    record = adopt.auto_adopt(ctx.repo)
    if record is not None:
        print(f"ossa-hooks: adopted {record.path} as an agent worktree ({record.describe()})",
              file=sys.stderr)


def _adopted_agent(ctx: HookContext) -> Identity | None:
    """The agent an adopted worktree stands for (None when the worktree is not adopted)."""
    from ossa_hooks.worktree.adopt import read_git_dir

    record = read_git_dir(ctx.repo.git_dir_str)
    if record is None:
        return None
    from ossa_hooks.identity import Identity

    return Identity(f"{record.agent}@{record.tool}", agent_type=record.agent, task=record.task,
                    branch=record.branch, worktree=record.path)


def _note_person(ctx: HookContext) -> None:
    """A person committing in an agent's worktree is told so (never refused)."""
    from ossa_hooks.worktree.guard import namespace_of
    from ossa_hooks.worktree.guard_layout import read_head

    branch, _ = read_head(ctx.repo.git_dir_str)
    if branch and namespace_of(branch):
        print(f"ossa-hooks: guard: note: committing on agent branch {branch} as a person"
              " (allowed; agents are held to their own branch)", file=sys.stderr)


def audit_refusal(repo: RepoPaths, hook_type: str, agent: Identity, refusal: Refusal,
                  verb: str, start: float) -> None:
    """The audit event of a refusal (kind ``guard``, named by its rule); ``hook_type`` is
    ``git`` for the agents' git wrapper."""
    from ossa_hooks import audit

    detail = {"hook_type": hook_type, "actor": agent.describe(), "agent_id": agent.agent_id,
              "what": refusal.what, "instead": refusal.instead, **refusal.detail}
    audit.record(repo, "guard", refusal.rule, 1, time.perf_counter() - start, detail,
                 outcome=verb)


# --- doctor -------------------------------------------------------------------------------------

MIN_GIT = (2, 28)


def git_version() -> tuple[int, ...] | None:
    from ossa_hooks import git

    proc = git.run(["version"], check=False)
    words = proc.stdout.decode("utf-8", "replace").split()
    if proc.returncode != 0 or len(words) < 3:
        return None
    parts = []
    for piece in words[2].split(".")[:3]:
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) or None


def doctor_check(repo: RepoPaths) -> list[Finding]:
    """Whether the guard rails are active: git new enough for reference-transaction, the four
    hook types installed, and ``ossa-guard`` configured in each."""
    from pathlib import Path

    from ossa_hooks import config as config_mod
    from ossa_hooks.doctor import Finding
    from ossa_hooks.doctor import hook_findings
    from ossa_hooks.errors import OssaError
    from ossa_hooks.install import hooks_dir
    from ossa_hooks.managers import layout
    from ossa_hooks.managers import lefthook_entries
    from ossa_hooks.managers import pre_commit_ids

    where = repo.toplevel_str or repo.common_dir_str
    found: list[Finding] = []
    version = git_version()
    shown = ".".join(map(str, version)) if version else "unknown"
    if version is None or version < MIN_GIT:
        found.append(Finding("problem", where, f"guard: git {shown} is older than 2.28: the"
                             " reference-transaction hook never runs (no ref or stash rule)",
                             None))
    try:
        hooks = config_mod.load(repo.toplevel_str).get("hooks")
    except OssaError:
        hooks = {}
    configured = [t for t in HOOK_TYPES if "ossa-guard" in hooks.get(t, [])]
    if not configured:
        return [*found, Finding("note", where, "guard: off (ossa-guard is in no hook type's"
                                " actions in .ossa-hooks.yaml hooks:)")]
    # A missing shim of a configured hook type is the hooks check's problem; here it is only
    # said which rules are off, and why.
    # ossa's actions run through a shim of its own, pre-commit's migration mode, lefthook's
    # lefthook-local.yml or pre-commit's config: the hooks check decides, the same way.
    folder = hooks_dir(where)
    top = Path(repo.toplevel_str) if repo.toplevel_str else None
    listed = pre_commit_ids(top)
    entries = lefthook_entries(top)
    missing = [t for t in configured
               if any(status in ("missing", "foreign") for status, _, _ in
                      hook_findings(layout(folder, t), listed.get(t, []), t in entries))]
    unconfigured = [t for t in HOOK_TYPES if t not in configured]
    if missing:
        found.append(Finding("note", where, "guard: not active for"
                             f" {', '.join(missing)} (hook not installed)", "ossa-hooks install"))
    if unconfigured:
        found.append(Finding("note", where, "guard: ossa-guard is not in the configured"
                             f" actions of {', '.join(unconfigured)} (.ossa-hooks.yaml hooks:)"))
    if not found:
        found.append(Finding("ok", where, f"guard rails active ({', '.join(HOOK_TYPES)};"
                             f" git {shown})"))
    return found
