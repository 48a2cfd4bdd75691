"""``ossa-hooks worktree create|list|cleanup``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ossa_hooks.commands import SubParsers

if TYPE_CHECKING:
    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths

_NAMES = "[REPO] AGENT TASK"


def register(sub: SubParsers) -> None:
    p = sub.add_parser("worktree", help="agent worktrees: create, list, clean up (merge back)")
    wsub = p.add_subparsers(dest="worktree_command", metavar="ACTION", required=True)

    c = wsub.add_parser(
        "create",
        help="snapshot, then a worktree on branch agents/AGENT/TASK with .env and"
        " .agents-workspace/",
        description="REPO defaults to the repository's folder name.",
        usage="%(prog)s [-h] [--base BRANCH] [--force] [REPO] AGENT TASK",
    )
    c.add_argument("names", nargs="+", metavar="NAME", help=_NAMES)
    c.add_argument("--base", metavar="BRANCH",
                   help="branch to start from (default: config base_branch, else the main"
                   " worktree's branch; created from HEAD when missing)")
    c.add_argument("--force", action="store_true",
                   help="replace an existing worktree of that name (snapshotted first) or reuse"
                   " an existing agents/AGENT/TASK branch")
    c.set_defaults(func=main_create)

    ls = wsub.add_parser("list", help="agent worktrees: ahead/behind, dirty, verdict, tokens")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=main_list)

    cl = wsub.add_parser(
        "cleanup",
        help="snapshot, merge agents/AGENT/TASK into the integration branch, remove the worktree",
        description="REPO defaults to the repository's folder name.",
        usage="%(prog)s [-h] [--no-merge] [--force] [--accept-config-change] [--no-gate]"
              " [REPO] AGENT TASK",
    )
    cl.add_argument("names", nargs="+", metavar="NAME", help=_NAMES)
    cl.add_argument("--no-merge", action="store_true",
                    help="remove without merging (the branch is kept unless already merged)")
    cl.add_argument("--force", action="store_true",
                    help="proceed with uncommitted changes (they are snapshotted first)")
    cl.add_argument("--accept-config-change", action="store_true",
                    help="merge although the branch needs human review (it changes the gate's"
                    " configuration, deletes or skips tests, adds # noqa / # nosec)")
    cl.add_argument("--no-gate", action="store_true",
                    help="merge without the judge, the review marks or the workflow's review")
    cl.set_defaults(func=main_cleanup)


def _names(parser_names: list[str]) -> tuple[str | None, str, str]:
    from ossa_hooks.errors import OssaError

    if len(parser_names) == 2:
        return None, parser_names[0], parser_names[1]
    if len(parser_names) == 3:
        return parser_names[0], parser_names[1], parser_names[2]
    raise OssaError(f"expected {_NAMES}, got {len(parser_names)} name(s)")


def _context() -> tuple[RepoPaths, Config]:
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.worktree import lifecycle as worktree
    repo = git.repo_paths()
    # The main worktree's config rules the agent worktrees, wherever the command runs.
    main = worktree.main_worktree(repo)
    if main is not None:
        cfg = config_mod.load(main, cache_dir=repo.common_dir_str)  # main's git dir
    else:
        cfg = config_mod.load(repo.toplevel, cache_dir=repo.git_dir_str)
    return repo, cfg


def main_create(args: argparse.Namespace) -> int:
    from ossa_hooks.worktree import lifecycle as worktree
    repo_name, agent, task = _names(args.names)
    repo, cfg = _context()
    worktree.create(repo, cfg, repo_name, agent, task, base=args.base,
                    force=args.force)
    return 0


def main_list(args: argparse.Namespace) -> int:
    import json

    from ossa_hooks.worktree import lifecycle as worktree
    repo, cfg = _context()
    rows = worktree.describe(repo, cfg)
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(worktree.format_rows(rows))
    return 0


def main_cleanup(args: argparse.Namespace) -> int:
    from ossa_hooks.worktree import lifecycle as worktree
    repo_name, agent, task = _names(args.names)
    repo, cfg = _context()
    return worktree.cleanup(repo, cfg, repo_name, agent, task,
                            merge=not args.no_merge, force=args.force, gate=not args.no_gate,
                            accept_config_change=args.accept_config_change)
