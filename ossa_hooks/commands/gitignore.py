"""``ossa-hooks gitignore check|fix``."""

from __future__ import annotations

import argparse
import sys

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "gitignore",
        help="forbidden paths in the index and required .gitignore entries",
        description="check: tracked (or --staged) paths matching gitignore.forbidden, and the"
        " gitignore.required entries missing from .gitignore; fix: add the missing entries.",
    )
    p.add_argument("--repo", metavar="PATH", help="repository (default: the current folder)")
    p.set_defaults(func=lambda _args: _usage(p))
    actions = p.add_subparsers(dest="gitignore_command", metavar="ACTION")
    c = actions.add_parser(
        "check", help="report forbidden tracked paths and missing .gitignore entries (exit 1)"
    )
    c.add_argument("--staged", action="store_true",
                   help="only the paths the next commit adds or changes (what the hook checks)")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--repo", metavar="PATH", default=argparse.SUPPRESS,
                   help="repository (default: the current folder)")
    c.set_defaults(func=main_check)
    f = actions.add_parser("fix", help="add the missing required entries to .gitignore")
    f.add_argument("--repo", metavar="PATH", default=argparse.SUPPRESS,
                   help="repository (default: the current folder)")
    f.set_defaults(func=main_fix)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_usage(sys.stderr)
    print("ossa-hooks gitignore: choose an action: check or fix", file=sys.stderr)
    return 2


def main_check(args: argparse.Namespace) -> int:
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks import gitignore

    repo = git.repo_paths(args.repo, option="--repo")
    cfg = config_mod.load(repo.worktree)
    report = gitignore.check(repo, cfg, staged_only=args.staged)
    if args.format == "json":
        import json

        print(json.dumps({
            "scope": "staged" if args.staged else "tracked",
            "refused": [{"path": r.path, "pattern": r.pattern} for r in report.refused],
            "missing": list(report.missing),
            "ok": not (report.refused or report.missing),
        }, indent=2, ensure_ascii=False))
        return 1 if report.refused or report.missing else 0
    for r in report.refused:
        print(gitignore.refused_line(r))
    line = gitignore.summary(report, "staged" if args.staged else "tracked")
    if line:
        print(line)
    if report.missing:
        print(gitignore.missing_line(report.missing))
    if report.refused or report.missing:
        return 1
    what = "staged" if args.staged else "tracked"
    tail = "; .gitignore has the required entries"
    if cfg.get("gitignore.check_required") == "ignore":
        tail = ""
    print(f"{gitignore.HOOK_ID}: no forbidden {what} paths{tail}")
    return 0


def main_fix(args: argparse.Namespace) -> int:
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks import gitignore

    repo = git.repo_paths(args.repo, option="--repo")
    cfg = config_mod.load(repo.worktree)
    added = gitignore.fix(repo, cfg)
    if added:
        print(f".gitignore: added {', '.join(added)}")
    else:
        print(".gitignore: has the required entries")
    # .gitignore only keeps untracked files out; what is already tracked stays tracked.
    tracked = gitignore.forbidden(repo, cfg.get("gitignore.forbidden"), staged_only=False)
    if tracked:
        n = len(tracked)
        print(f"note: {n} tracked path{'s' if n != 1 else ''} still match{'es' if n == 1 else ''}"
              " gitignore.forbidden"
              " (list them with `ossa-hooks gitignore check`; untrack with git rm --cached)")
    return 0
