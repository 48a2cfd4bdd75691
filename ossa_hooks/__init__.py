"""ossa-hooks: git hooks and worktree workflow for teams of coding agents."""

__version__ = "0.1.0"
