"""``ossa-hooks trust``: approve the commands this repository's configuration runs."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.git import RepoPaths


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "trust", help="approve the commands this repository's configuration runs",
        description="List the commands of .ossa-hooks.yaml that are not ossa-hooks' own "
                    "defaults (judge checks, budget.escalate_command) and the commands of the "
                    "agent specs (this worktree's .agents-workspace/agents/ and every spawned "
                    "agent's), and approve them for this "
                    "repository. The approval (a hash) is kept in $XDG_STATE_HOME/ossa-hooks, "
                    "never in the repository; a changed command needs a new approval.",
    )
    p.add_argument("--show", action="store_true", help="list them and whether they are approved")
    p.add_argument("--revoke", action="store_true", help="withdraw this repository's approvals")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks import trust

    repo = git.repo_paths()
    cfg = config_mod.load(repo.toplevel)
    kinds = trust.repository_commands(cfg)
    kinds.update(_agent_commands(repo))
    if not any(kinds.values()):
        print("nothing to approve: this repository's configuration runs only ossa-hooks' "
              "default commands")
        return 0
    for what, commands in kinds.items():
        if not commands:
            continue
        state = "approved" if trust.is_approved(repo, what, commands) else "not approved"
        if args.revoke:
            trust.approve(repo, what, [])
            state = "approval withdrawn"
        elif not args.show:
            trust.approve(repo, what, commands)
            state = "approved now"
        print(f"{what} ({state}):")
        for command in commands:
            print(f"  {command}")
    return 0


def _agent_commands(repo: RepoPaths) -> dict[str, list[str]]:
    """The commands of the agent specs in this worktree's workspace and of every agent spawned
    in the repository, by agent (a spec that no longer loads is left out)."""
    from pathlib import Path

    from ossa_hooks.agents import registry
    from ossa_hooks.agents import specs
    from ossa_hooks.errors import OssaError

    found: dict[str, list[str]] = {}
    paths = [Path(r.spec) for r in registry.listing(repo)]
    if repo.toplevel is not None:
        paths += sorted((specs.workspace(repo.toplevel) / "agents").glob("*.yaml"))
    for path in paths:
        try:
            spec = specs.load_spec(path)
        except (OssaError, OSError):
            continue
        commands = specs.commands_to_trust(spec)
        if commands:
            found[specs.trust_kind(spec)] = commands
    return found
