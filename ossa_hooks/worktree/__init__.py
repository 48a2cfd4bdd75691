"""Agent worktrees: create, list, merge-back, cleanup and the post-merge sweep."""
