"""``ossa-hooks worktree create|list|cleanup|adopt|review|pr``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ossa_hooks.commands import SubParsers

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence

    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths

_NAMES = "[REPO] AGENT TASK"


def register(sub: SubParsers) -> None:
    p = sub.add_parser("worktree", help="agent worktrees: create, list, clean up (merge back),"
                       " review, pull request")
    wsub = p.add_subparsers(dest="worktree_command", metavar="ACTION", required=True)

    c = wsub.add_parser(
        "create",
        help="snapshot, then a worktree on branch agents/AGENT/TASK with .env and"
        " .agents-workspace/",
        description="REPO defaults to the repository's folder name.",
        usage="%(prog)s [-h] [--base BRANCH] [--force] [--no-include] [REPO] AGENT TASK",
    )
    c.add_argument("names", nargs="+", metavar="NAME", help=_NAMES)
    c.add_argument("--base", metavar="BRANCH",
                   help="branch to start from and merge back into (default: start from the"
                   " commit checked out here, merge into config base_branch, else the main"
                   " worktree's branch; created from HEAD when missing)")
    c.add_argument("--force", action="store_true",
                   help="replace an existing worktree of that name (snapshotted first) or reuse"
                   " an existing agents/AGENT/TASK branch")
    c.add_argument("--no-include", action="store_true",
                   help="do not copy the ignored files .worktreeinclude lists from the main"
                   " worktree")
    c.set_defaults(func=main_create)

    ls = wsub.add_parser("list", help="agent worktrees: ahead/behind, dirty, lock, lease,"
                         " verdict, tokens")
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

    ad = wsub.add_parser(
        "adopt",
        help="record a worktree another tool made (Claude Code, worktrunk) as an agent's",
        description="Worktrees in Claude Code's .claude/worktrees/ and worktrunk's layout are"
        " adopted automatically when git creates them; this adopts any other.",
    )
    ad.add_argument("path", metavar="PATH", help="the linked worktree")
    ad.add_argument("--agent", metavar="NAME", help="the agent it stands for (default: the"
                    " tool's: claude, worktrunk)")
    ad.add_argument("--task", metavar="NAME", help="the task (default: the folder's name)")
    ad.add_argument("--forget", action="store_true", help="drop the adoption record instead")
    ad.set_defaults(func=main_adopt)

    rv = wsub.add_parser(
        "review",
        help="the diff against the base, the judge's and the reviewer's verdicts, tokens; then"
        " accept, reject or send back",
        description="On a terminal it asks what to do; --accept/--reject/--send-back decide"
        " without asking. REPO defaults to the repository's folder name.",
        usage="%(prog)s [-h] [--format text|json] [--stat] [--accept | --reject |"
        " --send-back NOTE] [REPO] AGENT TASK",
    )
    rv.add_argument("names", nargs="+", metavar="NAME", help=_NAMES)
    rv.add_argument("--format", choices=("text", "json"), default="text")
    rv.add_argument("--stat", action="store_true", help="the diffstat only, not the patch")
    what = rv.add_mutually_exclusive_group()
    what.add_argument("--accept", action="store_const", const="accept", dest="decision",
                      help="merge back and remove the worktree, as cleanup does")
    what.add_argument("--reject", action="store_const", const="reject", dest="decision",
                      help="keep the tip under a keep ref, remove the worktree, delete the"
                      " branch")
    what.add_argument("--send-back", metavar="NOTE", dest="note",
                      help="store NOTE for the next execute round of the task")
    rv.set_defaults(func=main_review)

    pr = wsub.add_parser(
        "pr",
        help="push agents/AGENT/TASK (after the secret scan) and open a pull request with gh",
        description="Title: the task's description; body: its compliance report (phases,"
        " verdicts, tokens and cost). REPO defaults to the repository's folder name.",
        usage="%(prog)s [-h] [--remote NAME] [--base BRANCH] [--draft] [--format text|json]"
        " [REPO] AGENT TASK",
    )
    pr.add_argument("names", nargs="+", metavar="NAME", help=_NAMES)
    pr.add_argument("--remote", default="origin", help="where to push (default origin)")
    pr.add_argument("--base", metavar="BRANCH",
                    help="the pull request's base (default: the task's base branch)")
    pr.add_argument("--draft", action="store_true", help="open it as a draft")
    pr.add_argument("--format", choices=("text", "json"), default="text")
    pr.set_defaults(func=main_pr)


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
    from ossa_hooks.worktree.records import main_worktree

    repo = git.repo_paths()
    # The main worktree's config rules the agent worktrees, wherever the command runs.
    main = main_worktree(repo)
    if main is not None:
        cfg = config_mod.load(main, cache_dir=repo.common_dir_str)  # main's git dir
    else:
        cfg = config_mod.load(repo.toplevel, cache_dir=repo.git_dir_str)
    return repo, cfg


def main_create(args: argparse.Namespace) -> int:
    from ossa_hooks.worktree.create import create

    repo_name, agent, task = _names(args.names)
    repo, cfg = _context()
    create(repo, cfg, repo_name, agent, task, base=args.base,
                    force=args.force, include=not args.no_include)
    return 0


def main_list(args: argparse.Namespace) -> int:
    import json

    from ossa_hooks.agents import budget
    from ossa_hooks.judge import gate as judge
    from ossa_hooks.worktree import listing

    repo, cfg = _context()

    def verdict_of(commit: str) -> bool | None:
        v = judge.last_verdict(repo, commit)
        return None if v is None else v.passed

    def tokens_of(branches: list[str]) -> dict[str, int]:
        return {u.branch: u.used for u in budget.usage(repo, branches)}

    rows = listing.describe(repo, cfg, verdict_of=verdict_of, tokens_of=tokens_of)
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(listing.format_rows(rows))
    return 0


def main_cleanup(args: argparse.Namespace) -> int:
    from ossa_hooks.agents import budget
    from ossa_hooks.judge.trusted import merge_gate_for
    from ossa_hooks.worktree.cleanup import cleanup

    repo_name, agent, task = _names(args.names)
    repo, cfg = _context()
    gate = merge_gate_for(repo, cfg, gate=not args.no_gate,
                          accept_config_change=args.accept_config_change)
    return cleanup(repo, cfg, repo_name, agent, task, merge_gate=gate, merge=not args.no_merge,
                   force=args.force,
                   report=lambda branches: budget.report_for_branches(repo, cfg, branches))


def main_adopt(args: argparse.Namespace) -> int:
    from ossa_hooks.worktree import adopt

    repo, _ = _context()
    if args.forget:
        done = adopt.forget(args.path)
        print(f"{args.path}: {'adoption forgotten' if done else 'was not adopted'}")
        return 0
    record = adopt.adopt(repo, args.path, agent=args.agent, task=args.task)
    print(f"adopted {record.path} ({record.branch or 'detached HEAD'}):"
          f" {record.describe()}")
    return 0


def main_review(args: argparse.Namespace) -> int:
    from ossa_hooks.agents import review

    repo_name, agent, task = _names(args.names)
    repo, cfg = _context()
    decision = "send-back" if args.note is not None else args.decision
    return review.run(repo, cfg, repo_name, agent, task, fmt=args.format, decision=decision,
                      note=args.note, patch=not args.stat)


def main_pr(args: argparse.Namespace) -> int:
    import json

    from ossa_hooks.agents import pr

    _, agent, task = _names(args.names)
    repo, cfg = _context()
    lines: list[str] = []
    echo = lines.append if args.format == "json" else print
    done = pr.open_pr(repo, cfg, agent, task, scan=_secret_scan(cfg), remote=args.remote,
                      base=args.base, draft=args.draft, echo=echo)
    if args.format == "json":
        print(json.dumps({**done, "output": lines}, indent=2, ensure_ascii=False))
    return 0


def _secret_scan(cfg: Config) -> Callable[[RepoPaths, Sequence[str]], list[str]]:
    """The push secret scan (``secrets``) handed to ``agents.pr``, which may not import it."""
    from ossa_hooks.secrets import engine

    def scan(repo: RepoPaths, commits: Sequence[str]) -> list[str]:
        eng = engine.engine_for(cfg)
        result = engine.ScanResult()
        for sha in commits:
            result.merge(engine.scan_rev(repo, cfg, sha, engine=eng))
        engine.apply_baseline(result, engine.load_baseline(repo, cfg))
        return engine.format_text(result)

    return scan
