"""Who is acting: an agent process that ossa-hooks started, or a person.

The agent runner puts the agent's identity into its process environment (``OSSA_AGENT_ID``
and friends); every process the agent starts, git and git's hooks included, inherits it. A
hook reads it with :func:`current` to tell an agent's git command from a person's. A person's
shell has no ``OSSA_AGENT_ID`` (the worktree's ``.env`` does not set it), so a person is never
taken for an agent.

This module is read on hook fast paths: it imports nothing but ``os``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

AGENT_ID = "OSSA_AGENT_ID"
AGENT_NAME = "OSSA_AGENT_NAME"
AGENT_TYPE = "OSSA_AGENT_TYPE"
TASK = "OSSA_TASK_NAME"
BRANCH = "OSSA_BRANCH"
WORKTREE = "OSSA_WORKTREE"
WORKFLOW_ID = "OSSA_WORKFLOW_ID"

# Every variable that makes up an identity, in the order they are written.
VARIABLES = (AGENT_ID, AGENT_NAME, AGENT_TYPE, TASK, BRANCH, WORKTREE, WORKFLOW_ID)


class Identity:
    """An agent process: its id, role, task, own branch and own worktree (plain class: read
    on every hook run)."""

    __slots__ = ("agent_id", "agent_type", "branch", "name", "task", "workflow_id", "worktree")

    def __init__(self, agent_id: str, *, name: str = "", agent_type: str = "", task: str = "",
                 branch: str = "", worktree: str = "", workflow_id: str = "") -> None:
        self.agent_id = agent_id
        self.name = name or agent_type or agent_id
        self.agent_type = agent_type
        self.task = task
        self.branch = branch
        self.worktree = worktree
        self.workflow_id = workflow_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and self.environ() == other.environ()

    def __hash__(self) -> int:
        return hash(tuple(self.environ().items()))

    def __repr__(self) -> str:
        return f"Identity({self.agent_id!r}, branch={self.branch!r}, worktree={self.worktree!r})"

    def describe(self) -> str:
        """``agent coder-3 (coder, task greet)``: how messages name the agent."""
        detail = ", ".join(x for x in (self.agent_type, f"task {self.task}" if self.task else "")
                           if x)
        return f"agent {self.agent_id}" + (f" ({detail})" if detail else "")

    def environ(self) -> dict[str, str]:
        """The variables that carry this identity into a child process."""
        return {
            AGENT_ID: self.agent_id,
            AGENT_NAME: self.name,
            AGENT_TYPE: self.agent_type,
            TASK: self.task,
            BRANCH: self.branch,
            WORKTREE: self.worktree,
            WORKFLOW_ID: self.workflow_id,
        }


def current(environ: Mapping[str, str] | None = None) -> Identity | None:
    """The agent this process acts for, or None for a person."""
    env = os.environ if environ is None else environ
    agent_id = env.get(AGENT_ID, "").strip()
    if not agent_id:
        return None
    return Identity(
        agent_id,
        name=env.get(AGENT_NAME, ""),
        agent_type=env.get(AGENT_TYPE, ""),
        task=env.get(TASK, ""),
        branch=env.get(BRANCH, ""),
        worktree=env.get(WORKTREE, ""),
        workflow_id=env.get(WORKFLOW_ID, ""),
    )


def actor(environ: Mapping[str, str] | None = None) -> str:
    """``agent coder-3 (coder, task greet)`` or ``a person``: for messages and audit events."""
    who = current(environ)
    return who.describe() if who is not None else "a person"
