"""``ossa-hooks judge``: the push gate by hand or in CI."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "judge", help="run the push gate's checks (tests, lint, security) on a commit",
        description="Check out REV's tree into a temporary worktree and run the checks of "
                    "judge.checks there in parallel. Uncommitted work is never judged.",
    )
    p.add_argument("--rev", default="HEAD", help="the commit to judge (default: HEAD)")
    p.add_argument("--check", action="extend", nargs="+", default=[], metavar="NAME",
                   dest="checks", help="run only these checks (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-cache", action="store_true",
                   help="run every check even when this tree already passed them")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import json
    import sys

    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.judge.gate import judge

    repo = git.repo_paths()
    cfg = config_mod.load(repo.toplevel)
    as_json = args.format == "json"
    verdict = judge(repo, cfg, args.rev, args.checks or None, use_cache=not args.no_cache,
                    quiet=as_json, stream=sys.stdout)
    if as_json:
        print(json.dumps({"rev": args.rev, **verdict.as_json()}, indent=2))
    return 0 if verdict.passed else 1
