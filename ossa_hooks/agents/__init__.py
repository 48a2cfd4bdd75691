"""Agents: specs, providers, runner, the 360-degree workflow, budgets and memory."""
