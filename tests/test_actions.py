"""The table of hook actions agrees with the pre-commit framework's ids and the config schema."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from ossa_hooks import config
from ossa_hooks.actions import ACTIONS
from ossa_hooks.actions import BY_ID

HOOKS_YAML = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"

# Hook types git runs that the pre-commit framework has no stage for.
NO_FRAMEWORK_STAGE = ("reference-transaction",)


def test_every_action_has_a_callable_target() -> None:
    for action in ACTIONS:
        assert action.target is not None, action.id
        module_name, _, func_name = action.target.partition(":")
        assert callable(getattr(importlib.import_module(module_name), func_name)), action.id


def test_pre_commit_hook_ids_match_the_table() -> None:
    entries = yaml.safe_load(HOOKS_YAML.read_text())
    assert [e["id"] for e in entries] == [a.id for a in ACTIONS]
    for entry in entries:
        action = BY_ID[entry["id"]]
        assert entry["stages"] == [t for t in action.hook_types if t not in NO_FRAMEWORK_STAGE]
        assert entry["entry"] == f"ossa-hooks run {action.id}"
        assert entry["language"] == "python"


def test_default_hooks_config_uses_each_action_in_its_own_hook_types() -> None:
    hooks = config.defaults()["hooks"]
    used = {(hook_type, i) for hook_type, ids in hooks.items() for i in ids}
    expected = {(t, a.id) for a in ACTIONS for t in a.hook_types}
    assert used == expected
    assert set(hooks) == set(config.HOOK_TYPES)
