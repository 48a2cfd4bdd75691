"""config_rules: value rules, as a user meets them through .ossa-hooks.yaml."""

from __future__ import annotations

import pytest

from ossa_hooks import config
from ossa_hooks.config_rules import SUPPORTED_VERSION
from ossa_hooks.errors import OssaError


def error(text: str) -> str:
    with pytest.raises(OssaError) as e:
        config.parse(text, ".ossa-hooks.yaml")
    return e.value.message


@pytest.mark.parametrize(("text", "message"), [
    ("secrets:\n  max_file_size: -5\n",
     ".ossa-hooks.yaml:2: secrets.max_file_size: must be greater than 0 (got -5)"),
    ("secrets:\n  max_file_size: 0\n",
     ".ossa-hooks.yaml:2: secrets.max_file_size: must be greater than 0 (got 0)"),
    ("backup:\n  keep: -1\n", ".ossa-hooks.yaml:2: backup.keep: must be 0 or more (got -1)"),
    ("judge:\n  checks:\n    tests:\n      run: ''\n",
     ".ossa-hooks.yaml:4: judge.checks.tests.run: must not be empty (give the command to run,"
     " or set enabled: false)"),
    ("judge:\n  checks:\n    tests:\n      run: '   '\n",
     ".ossa-hooks.yaml:4: judge.checks.tests.run: must not be empty"),
    ("judge:\n  checks:\n    tests:\n      timeout: .nan\n",
     ".ossa-hooks.yaml:4: judge.checks.tests.timeout: must be a finite number, not nan"),
    ("judge:\n  checks:\n    x:\n      run: a\n      timeout: .inf\n",
     ".ossa-hooks.yaml:5: judge.checks.x.timeout: must be a finite number, not inf"),
    ("judge:\n  checks:\n    tests:\n      timeout: 0\n",
     ".ossa-hooks.yaml:4: judge.checks.tests.timeout: must be greater than 0 (got 0)"),
    ("workflow:\n  agent_timeout: -1\n",
     ".ossa-hooks.yaml:2: workflow.agent_timeout: must be greater than 0"),
    ("worktree_root: /\n", ".ossa-hooks.yaml:1: worktree_root: '/' is outside the repository"),
    ("worktree_root: ~/wt\n", ".ossa-hooks.yaml:1: worktree_root: '~/wt' is outside"),
    ("worktree_root: ../wt\n",
     ".ossa-hooks.yaml:1: worktree_root: '../wt' is not a folder inside the repository"),
    ("worktree_root: a/../..\n", ".ossa-hooks.yaml:1: worktree_root: 'a/../..' is not a folder"),
    ("worktree_root: .\n", ".ossa-hooks.yaml:1: worktree_root: '.' is not a folder inside"),
    ("integration_branch: '{base}..x'\n",
     ".ossa-hooks.yaml:1: integration_branch: gives 'main..x', not a valid branch name"),
    ("integration_branch: '{base}-{day}'\n",
     ".ossa-hooks.yaml:1: integration_branch: unknown placeholder {day}; use {base} and {date}"),
    ("integration_branch: '{base'\n", ".ossa-hooks.yaml:1: integration_branch: bad placeholder"),
    ("integration_branch: '{base!r}'\n",
     ".ossa-hooks.yaml:1: integration_branch: placeholders take no format"),
    ("integration_branch: 'x.lock'\n", ".ossa-hooks.yaml:1: integration_branch: gives 'x.lock'"),
    ("base_branch: 'a b'\n", ".ossa-hooks.yaml:1: base_branch: 'a b' is not a valid branch"),
    ("version: 99\n", f".ossa-hooks.yaml:1: version: 99 is newer than this release of"
     f" ossa-hooks reads (version {SUPPORTED_VERSION}): upgrade ossa-hooks"),
    ("version: 0\n", ".ossa-hooks.yaml:1: version: must be 1 or more (got 0)"),
    ("secrets:\n  exclude: ['*']\n",
     ".ossa-hooks.yaml:2: secrets.exclude[0]: '*' matches every file: nothing would be scanned"),
    ("secrets:\n  exclude: ['**']\n", ".ossa-hooks.yaml:2: secrets.exclude[0]: '**' matches"),
    ("secrets:\n  exclude: ['/**/*']\n", ".ossa-hooks.yaml:2: secrets.exclude[0]: '/**/*'"),
    ("gitignore:\n  forbidden: [\"a\\nb\"]\n",
     ".ossa-hooks.yaml:2: gitignore.forbidden[0]: must be one line"),
    ("budget:\n  agents:\n    coder: -3\n",
     ".ossa-hooks.yaml:3: budget.agents.coder: must be 0 or more (got -3)"),
])
def test_values_that_would_break_things_are_refused(text: str, message: str) -> None:
    got = error(text)
    assert got.startswith(message), got
    assert "\n" not in got


@pytest.mark.parametrize("text", [
    "secrets:\n  exclude: ['docs/', '*.lock', 'tests/fixtures/**']\n",
    "worktree_root: build/worktrees\n",
    "integration_branch: 'integration/{base}/{date}'\n",
    "backup:\n  keep: 0\n",
    "judge:\n  checks:\n    tests:\n      timeout: 0.5\n",
    "version: 1\n",
    "base_branch: refs/heads/main\n",
])
def test_sensible_values_load(text: str) -> None:
    config.parse(text, ".ossa-hooks.yaml")
