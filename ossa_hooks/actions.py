"""The table of hook actions: each id, the hook types it serves, and the function behind it.

Adding an action touches this table only. ``target`` is ``module:function`` taking a
``HookContext`` and returning an exit code; it is imported only when the action runs, so a
hook pays only for its own work.
"""

from __future__ import annotations


class Action:
    """One hook action (a plain class: this table is read on every hook run)."""

    __slots__ = ("description", "gate", "hook_types", "id", "prefetch", "target")

    def __init__(
        self,
        id: str,
        hook_types: tuple[str, ...],
        target: str | None,
        description: str,
        prefetch: str | None = None,
        gate: str | None = None,
    ) -> None:
        self.id = id
        self.hook_types = hook_types
        self.target = target
        self.description = description
        # ``module:function`` giving, for a hook type, shell lines the installed shim runs
        # while the interpreter starts (``install.prefetch_block``); read at install time.
        self.prefetch = prefetch
        # ``module:function`` giving, for a hook type, a shell test the installed shim passes
        # before it starts the interpreter ("" for none); read at install time.
        self.gate = gate


ACTIONS: tuple[Action, ...] = (
    Action(
        "ossa-backup",
        ("post-checkout", "pre-rebase"),
        "ossa_hooks.backup.hook:hook",
        "snapshot uncommitted work to backup/auto-save-TIMESTAMP",
        prefetch="ossa_hooks.backup.hook:prefetch",
    ),
    Action(
        "ossa-secrets",
        ("pre-commit",),
        "ossa_hooks.secrets.engine:hook",
        "refuse commits whose staged content holds a secret",
    ),
    Action(
        "ossa-gitignore",
        ("pre-commit",),
        "ossa_hooks.gitignore:hook",
        "refuse sensitive paths and check .gitignore's required entries",
    ),
    Action(
        "ossa-judge",
        ("pre-push",),
        "ossa_hooks.judge.gate:hook",
        "tests, lint and security scan of the pushed commits",
    ),
    Action(
        "ossa-cleanup",
        ("post-merge",),
        "ossa_hooks.worktree.hook:hook",
        "remove agent worktrees whose branches are merged and clean",
    ),
    Action(
        "ossa-budget",
        ("post-merge",),
        "ossa_hooks.agents.budget:hook",
        "token budget report of the merged tasks",
    ),
    Action(
        "ossa-guard",
        ("pre-commit", "reference-transaction", "pre-push", "post-checkout"),
        "ossa_hooks.worktree.guard_hook:hook",
        "keep an agent process on its own branch and in its own worktree",
        gate="ossa_hooks.worktree.guard_hook:shell_gate",
    ),
)

BY_ID = {a.id: a for a in ACTIONS}
