"""The push gate: checks (tests, lint, security) on the pushed commit."""
