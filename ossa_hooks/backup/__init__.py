"""Safe backup: snapshots of uncommitted work, the checkout hook, restore, prune, push."""
