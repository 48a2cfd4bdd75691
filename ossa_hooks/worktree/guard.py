"""Guard rails: an agent process's git operations stay on its own branch and in its own worktree.

The rules, as pure functions over what the repository looks like from a hook
(:class:`Layout`, read from the files under the git dirs) and what the acting agent owns
(:class:`Scope`, from its identity, its worktree's ``.env`` and the configuration). Each rule
returns a :class:`Refusal` (the rule's name, what was refused, what to do instead) or None.
The hook entry points (:mod:`ossa_hooks.worktree.guard_hook`) apply them:

- ``pre-commit``: a commit only on the agent's own branch, in its own worktree;
- ``reference-transaction`` (state ``prepared``): no update of another agent's branch, the base
  or integration branch, a branch outside the agent's namespace, another worktree's HEAD, or
  the stash from a worktree that is not the agent's;
- ``pre-push``: only the agent's own branch, to the same name;
- ``post-checkout``: a switch that left the agent's branch or happened in another worktree
  (git runs no hook before a branch switch: it is reported, after a snapshot).

The agents' ``git`` (:mod:`ossa_hooks.worktree.guard_git`, first on an agent program's PATH)
refuses such switches, and commands that would write another worktree, before git starts.

People are never refused: ``identity.current`` is None for them, and no rule runs. This
module is read on hook paths: it imports ``os`` and :mod:`~ossa_hooks.worktree.guard_layout`
only (git is asked only when a rule needs it).
"""

from __future__ import annotations

import os

from ossa_hooks.worktree.guard_layout import HEADS
from ossa_hooks.worktree.guard_layout import ZERO
from ossa_hooks.worktree.guard_layout import Layout
from ossa_hooks.worktree.guard_layout import Tree
from ossa_hooks.worktree.guard_layout import in_sequence
from ossa_hooks.worktree.guard_layout import real
from ossa_hooks.worktree.guard_layout import sequence_branch
from ossa_hooks.worktree.guard_layout import unchanged

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Mapping
    from collections.abc import Sequence

    from ossa_hooks.config import Config
    from ossa_hooks.identity import Identity

AGENTS_PREFIX = "agents/"
BACKUP_PREFIX = "backup/"
ENV_FILE = ".env"


class Refusal:
    """One refused operation: the rule, what was refused, and what to do instead."""

    __slots__ = ("detail", "instead", "rule", "what")

    def __init__(self, rule: str, what: str, instead: str,
                 detail: Mapping[str, str] | None = None) -> None:
        self.rule = rule
        self.what = what
        self.instead = instead
        self.detail = dict(detail or {})

    def __repr__(self) -> str:
        return f"Refusal({self.rule!r}, {self.what!r})"

    def line(self, verb: str = "refused") -> str:
        """The one line an agent reads: ``ossa-hooks: guard: refused [RULE] WHAT; INSTEAD``."""
        return f"ossa-hooks: guard: {verb} [{self.rule}] {self.what}; instead: {self.instead}"


# --- what the agent owns ------------------------------------------------------------------------


class Scope:
    """The acting agent's own branch, worktree and namespace, and the branches it must leave
    alone (base and integration branches, other agents' branches)."""

    __slots__ = ("agent", "allowed", "branch", "integration", "namespace", "protected",
                 "worktree")

    def __init__(self, agent: Identity, branch: str, worktree: str,
                 protected: Mapping[str, str], integration: str,
                 allowed: Sequence[str] = ()) -> None:
        self.agent = agent
        self.allowed = tuple(allowed)
        self.branch = branch
        self.worktree = worktree
        self.protected = dict(protected)
        self.integration = integration
        self.namespace = namespace_of(branch)

    def owns(self, branch: str) -> bool:
        """The agent's own branch, or a branch of its namespace (``agents/NAME/...``)."""
        if branch == self.branch:
            return True
        return bool(self.namespace) and branch.startswith(self.namespace)

    def is_integration(self, branch: str) -> bool:
        return _matches_integration(self.integration, branch)

    def is_allowed(self, branch: str) -> bool:
        """A branch the configuration lets every agent use (``guard.allow_branches``)."""
        if not self.allowed:
            return False
        import fnmatch

        return any(fnmatch.fnmatchcase(branch, pattern) for pattern in self.allowed)

    def side_tree(self, tree: Tree) -> bool:
        """A worktree other than its own that the agent may work in: inside its own worktree's
        folder, on a branch the configuration allows (one its CLI made for a subagent, such
        as Claude Code's ``.claude/worktrees/NAME``)."""
        return (bool(self.worktree) and tree.path.startswith(self.worktree + os.sep)
                and tree.branch is not None and tree.branch not in self.protected
                and self.is_allowed(tree.branch))


def namespace_of(branch: str) -> str:
    """``agents/NAME/`` for an agent branch ``agents/NAME/TASK``; "" for any other branch."""
    parts = branch.split("/")
    if branch.startswith(AGENTS_PREFIX) and len(parts) >= 3 and parts[1]:
        return f"{AGENTS_PREFIX}{parts[1]}/"
    return ""


def _matches_integration(pattern: str, branch: str) -> bool:
    """Does ``branch`` follow the integration-branch pattern (``{base}``: any, ``{date}``: 8
    digits)?"""
    if not pattern:
        return False
    import re

    regex = ""
    for piece in re.split(r"(\{base\}|\{date\})", pattern):
        regex += {"{base}": ".+", "{date}": r"\d{8}"}.get(piece, re.escape(piece))
    return re.fullmatch(regex, branch) is not None


def read_env_keys(path: str, keys: Iterable[str]) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of an ``.env`` file for ``keys`` (shell quoting undone)."""
    wanted = set(keys)
    found: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return found
    for line in lines:
        key, sep, raw = line.strip().partition("=")
        if not sep or key not in wanted:
            continue
        raw = raw.strip()
        if raw[:1] in ("'", '"'):
            import shlex

            try:
                parts = shlex.split(raw)
            except ValueError:
                parts = [raw]
            raw = parts[0] if parts else ""
        found[key] = raw
    return found


def scope_of(agent: Identity, layout: Layout, config: Config | None) -> Scope:
    """What ``agent`` owns, from its identity; the worktree and branch are inferred from each
    other when the identity names only one."""
    worktree = real(agent.worktree)
    branch = agent.branch.removeprefix(HEADS)
    if not worktree and branch:
        holder = layout.holder(branch)
        worktree = holder.path if holder is not None else ""
    if not branch and worktree:
        tree = layout.tree_at(worktree)
        branch = (tree.branch or "") if tree is not None else ""
    protected: dict[str, str] = {}
    integration = ""
    allowed: list[str] = []
    if config is not None:
        allowed = [str(p) for p in config.get("guard.allow_branches") or ()]
        base = config.get("base_branch")
        if base:
            protected[str(base).removeprefix(HEADS)] = "the base branch"
        integration = str(config.get("integration_branch") or "")
    main = layout.main()
    if main is not None and main.branch and main.branch != branch:
        protected.setdefault(main.branch, "the main worktree's branch")
    if worktree:
        env = read_env_keys(os.path.join(worktree, ENV_FILE),
                            ("OSSA_BASE_BRANCH", "OSSA_INTEGRATION_BRANCH"))
        if env.get("OSSA_BASE_BRANCH"):
            protected[env["OSSA_BASE_BRANCH"]] = "the base branch"
        if env.get("OSSA_INTEGRATION_BRANCH"):
            protected[env["OSSA_INTEGRATION_BRANCH"]] = "the integration branch"
    protected.pop(branch, None)
    return Scope(agent, branch, worktree, protected, integration, allowed)


# --- the rules ---------------------------------------------------------------------------------


def _go_home(scope: Scope) -> str:
    if scope.worktree:
        return f"cd {scope.worktree} and work on {scope.branch or 'your branch'} there"
    return "work in your own worktree (`ossa-hooks worktree create AGENT TASK` makes one)"


def check_commit(scope: Scope, layout: Layout) -> Refusal | None:
    """pre-commit: a commit only in the agent's own worktree, on its own branch."""
    here = layout.here
    who = scope.agent.describe()
    if not scope.branch and not scope.worktree:
        return Refusal("no-own-branch", f"{who} has no branch or worktree of its own"
                       " (OSSA_BRANCH and OSSA_WORKTREE are unset)",
                       "start the agent with `ossa-hooks agents` or set both variables")
    if scope.side_tree(here):
        return None
    if scope.worktree and here.path != scope.worktree:
        return Refusal("own-worktree", f"{who} committing in {here.path}, not in its own"
                       f" worktree {scope.worktree}", _go_home(scope),
                       {"worktree": here.path})
    branch = here.branch or sequence_branch(here.git_dir)
    if scope.branch and branch != scope.branch:
        on = f"branch {branch}" if branch else "a detached HEAD"
        return Refusal("own-branch", f"{who} committing on {on}, not on its own branch"
                       f" {scope.branch}", f"git switch {scope.branch}, then commit",
                       {"branch": branch or ""})
    return None


def classify_branch(scope: Scope, layout: Layout, branch: str, old: str) -> Refusal | None:
    """May the agent update (create, move, delete) ``branch``?"""
    if scope.owns(branch):
        holder = layout.holder(branch)
        if branch == scope.branch or holder is None or holder.path == scope.worktree:
            return None
        return _other_agent(scope, branch, f"checked out in {holder.path}")
    who = scope.agent.describe()
    if branch in scope.protected or scope.is_integration(branch):
        what = scope.protected.get(branch, "the integration branch")
        return Refusal("base-branch", f"{who} updating {branch} ({what})",
                       f"commit on {scope.branch or 'your own branch'}; `ossa-hooks worktree"
                       " merge` brings it into the base", {"ref": HEADS + branch})
    holder = layout.holder(branch)
    if holder is not None and holder.path != scope.worktree and not scope.side_tree(holder):
        return _other_agent(scope, branch, f"checked out in {holder.path}")
    if branch.startswith(AGENTS_PREFIX):
        return _other_agent(scope, branch, "another agent's branch")
    if branch.startswith(BACKUP_PREFIX) and (not old or old == ZERO):
        return None  # a new snapshot (ossa-hooks' own backup refs are created, never moved)
    if scope.is_allowed(branch):
        return None
    return Refusal("outside-namespace", f"{who} updating branch {branch}, outside its own"
                   f" namespace {scope.namespace or scope.branch}",
                   f"name your branches {scope.namespace or scope.branch + '-'}..."
                   f" or work on {scope.branch}", {"ref": HEADS + branch})


def _other_agent(scope: Scope, branch: str, why: str) -> Refusal:
    return Refusal("other-agent-branch", f"{scope.agent.describe()} updating {branch} ({why})",
                   f"leave it to its owner and work on {scope.branch or 'your own branch'}",
                   {"ref": HEADS + branch})


def check_ref_updates(scope: Scope, layout: Layout, updates: Sequence[tuple[str, str, str]],
                      files_moved: object = None) -> Refusal | None:
    """reference-transaction ``prepared``: the first update the agent may not make.

    ``updates`` are git's ``(old, new, ref)`` lines. ``files_moved(new)`` answers whether the
    worktree's index already holds ``new``'s tree (a checkout whose files git has already
    written: refusing its HEAD update then would leave the worktree half-switched, so it is let
    through for post-checkout to report).
    """
    here = layout.here
    own_tree = not scope.worktree or here.path == scope.worktree or scope.side_tree(here)
    who = scope.agent.describe()
    head_target = here.branch
    branch_moves = {ref[len(HEADS):]: new for old, new, ref in updates if ref.startswith(HEADS)}
    for old, new, ref in updates:
        if old == new and old != ZERO:
            continue  # no change (git's own re-checks, e.g. `reset --hard` to HEAD)
        if ref.startswith(HEADS):
            refusal = classify_branch(scope, layout, ref[len(HEADS):], old)
        elif ref.startswith(("main-worktree/", "worktrees/")):
            target = ref.split("/", 2)
            refusal = Refusal("foreign-worktree", f"{who} updating {ref} (another worktree's"
                              " ref)", _go_home(scope), {"ref": ref})
            if len(target) == 3 and target[0] == "worktrees" and _admin_of(layout, target[1]) \
                    == scope.worktree:
                refusal = None
        elif ref == "refs/stash":
            refusal = _check_stash(scope, here, own_tree, old)
        elif ref == "HEAD":
            if head_target is not None and branch_moves.get(head_target) == new:
                continue  # HEAD follows its branch (a commit, reset or merge): judged above
            refusal = _check_head(scope, here, own_tree, new, files_moved)
        else:
            # Tags, remotes, notes, and pseudo refs (ORIG_HEAD, FETCH_HEAD, ...): bookkeeping
            # that moves no one's branch or worktree.
            refusal = None
        if refusal is not None and unchanged(layout.common_dir, here.git_dir, ref, old, new):
            continue  # `git pack-refs` / `gc` moving a ref between files: its value stays
        if refusal is not None:
            refusal.detail.setdefault("ref", ref)
            refusal.detail["worktree"] = here.path
            return refusal
    return None


def _admin_of(layout: Layout, name: str) -> str:
    admin = os.path.join(layout.common_dir, "worktrees", name)
    tree = next((t for t in layout.trees if t.git_dir == admin), None)
    return tree.path if tree is not None else ""


def _check_head(scope: Scope, here: Tree, own_tree: bool, new: str,
                files_moved: object) -> Refusal | None:
    who = scope.agent.describe()
    if own_tree and (here.branch is None or in_sequence(here.git_dir)):
        return None  # a detached HEAD moving, or a rebase/bisect/cherry-pick at work
    if new != ZERO and callable(files_moved) and files_moved(new):
        return None  # the checkout already wrote the files: post-checkout reports it
    if own_tree:
        return Refusal("leave-branch", f"{who} detaching HEAD from its own branch"
                       f" {scope.branch}", f"stay on {scope.branch}; look at other commits"
                       " with `git show` or `git worktree add --detach` elsewhere",
                       {"ref": "HEAD"})
    return Refusal("foreign-worktree", f"{who} moving HEAD of {here.path}, not its own"
                   " worktree", _go_home(scope), {"ref": "HEAD"})


def _check_stash(scope: Scope, here: Tree, own_tree: bool, old: str) -> Refusal | None:
    who = scope.agent.describe()
    if not own_tree:
        return Refusal("foreign-stash", f"{who} stashing in {here.path}, not in its own"
                       " worktree (the stash would take that worktree's uncommitted work)",
                       _go_home(scope), {"ref": "refs/stash"})
    if old and old != ZERO:
        made_on = stash_branch(here.path, old)
        if made_on is not None and made_on != scope.branch:
            return others_stash(scope, made_on, "a stash entry")
    return None


def others_stash(scope: Scope, made_on: str, entry: str) -> Refusal:
    """The refusal of taking (dropping, popping, clearing) a stash entry made on another
    branch."""
    return Refusal("others-stash", f"{scope.agent.describe()} taking {entry} made on {made_on}"
                   " (the stash is shared by every worktree)",
                   f"leave it; `git stash list` shows the entries made on {scope.branch}",
                   {"ref": "refs/stash"})


def stash_branch(cwd: str, commit: str) -> str | None:
    """The branch a stash entry was made on, from its subject (``WIP on B: ...``/``On B:``)."""
    from ossa_hooks import git

    proc = git.call(["log", "-1", "--format=%s", commit, "--"], cwd, check=False)
    return subject_branch(proc.stdout.decode("utf-8", "replace").strip())


def subject_branch(subject: str) -> str | None:
    """The branch named in a stash entry's subject (``WIP on B: ...`` or ``On B: ...``)."""
    for prefix in ("WIP on ", "On "):
        if subject.startswith(prefix) and ":" in subject:
            return subject[len(prefix):].split(":", 1)[0]
    return None


def check_push(scope: Scope, refs: Sequence[tuple[str, str, str, str]],
               own_tip: str | None) -> Refusal | None:
    """pre-push: only the agent's own branch, pushed under its own name.

    ``refs``: pre-push's ``(local ref, local sha, remote ref, remote sha)`` lines; ``own_tip``:
    the commit of the agent's branch.
    """
    who = scope.agent.describe()
    own = HEADS + scope.branch
    for local_ref, local_sha, remote_ref, _ in refs:
        deleting = set(local_sha) == {"0"}
        if remote_ref == own and scope.branch and (deleting or local_ref == own
                                                  or local_sha == own_tip):
            continue
        what = f"deleting {remote_ref}" if deleting else f"{local_ref} to {remote_ref}"
        return Refusal("push-own-branch", f"{who} pushing {what}; it may push only"
                       f" {scope.branch or 'its own branch'}",
                       f"git push origin {scope.branch}" if scope.branch
                       else "push from your own worktree", {"ref": remote_ref})
    return None


def check_checkout(scope: Scope, layout: Layout) -> Refusal | None:
    """post-checkout: the switch already happened; did it leave the agent's branch or happen
    in another worktree?"""
    here = layout.here
    who = scope.agent.describe()
    if scope.side_tree(here):
        return None
    if scope.worktree and here.path != scope.worktree:
        return Refusal("foreign-worktree", f"{who} switched {here.path} (not its own worktree)"
                       f" to {here.branch or 'a detached HEAD'}",
                       f"switch it back (git -C {here.path} switch -) and {_go_home(scope)}",
                       {"worktree": here.path, "branch": here.branch or ""})
    if scope.branch and here.branch != scope.branch and not in_sequence(here.git_dir):
        return Refusal("leave-branch", f"{who} switched its worktree from {scope.branch} to"
                       f" {here.branch or 'a detached HEAD'}", f"git switch {scope.branch}",
                       {"worktree": here.path, "branch": here.branch or ""})
    return None
