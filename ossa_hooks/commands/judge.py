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
    p.add_argument("--changed-since", metavar="BASE",
                   help="as the pre-push hook does: checks with `paths` run only when the "
                        "changes since BASE (its merge-base with REV) touch them; a BASE that "
                        "is missing or all zeros means everything changed (for CI)")
    p.add_argument("--keep-going", action="store_true",
                   help="run every check although one failed (default: the first failure "
                        "cancels the others)")
    p.set_defaults(func=main)

    b = sub.add_parser(
        "bandit", help="the judge's security check: bandit with the project's configuration",
        description="Run bandit (the first on PATH) with the project's [tool.bandit] or "
                    ".bandit, else medium severity and up with B101 skipped in test files; "
                    "print every finding on one line; exit 1 when there is one.",
    )
    b.add_argument("paths", nargs="*", metavar="PATH", help="what to scan (default: .)")
    b.set_defaults(func=main_bandit)

    r = sub.add_parser(
        "ruff", help="the judge's lint and format checks: ruff, read-only",
        description="ruff check --no-fix (check) or ruff format --check (format), on the Python "
                    "files changed since $OSSA_JUDGE_BASE when the judge sets it (check: only "
                    "the findings not there at that base count), else on the whole tree. A "
                    "project with no ruff settings is checked with ruff's classic rules "
                    "(E4,E7,E9,F).",
    )
    r.add_argument("mode", choices=("check", "format"))
    r.set_defaults(func=main_ruff)


def main(args: argparse.Namespace) -> int:
    import json
    import sys

    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.judge.checks import resolve
    from ossa_hooks.judge.gate import judge
    from ossa_hooks.judge.trusted import trusted_for

    repo = git.repo_paths()
    cfg = config_mod.load(repo.toplevel, cache_dir=repo.git_dir_str)
    as_json = args.format == "json"
    commit, _ = resolve(repo, args.rev)
    trusted = trusted_for(repo, cfg, _branch_of(args.rev), commit)
    changed = None
    base = None
    if args.changed_since:
        from ossa_hooks.judge.gate import changed_since

        changed = changed_since(repo, args.changed_since, commit)
        if changed is not None:
            base = git.out(["merge-base", args.changed_since, commit], None)
    elif trusted is None:
        base = _upstream_base(commit)
    verdict = judge(repo, cfg, args.rev, args.checks or None, use_cache=not args.no_cache,
                    quiet=as_json, stream=sys.stdout, keep_going=args.keep_going,
                    trusted=trusted, changed=changed, base=base)
    if as_json:
        print(json.dumps({"rev": args.rev, **verdict.as_json()}, indent=2))
    return 0 if verdict.passed else 1


def _branch_of(rev: str) -> str:
    """The full ref ``rev`` names when it is a branch (``HEAD``: the checked-out branch)."""
    from ossa_hooks import git

    proc = git.run(["rev-parse", "--symbolic-full-name", rev], None, check=False)
    name = proc.stdout.decode().strip()
    return name if name.startswith("refs/heads/") else rev


def _upstream_base(commit: str) -> str | None:
    """The merge-base of ``commit`` with the current branch's upstream, when there is one."""
    from ossa_hooks import git

    up = git.run(["rev-parse", "-q", "--verify", "@{upstream}"], None, check=False)
    if up.returncode != 0:
        return None
    mb = git.run(["merge-base", up.stdout.decode().strip(), commit], None, check=False)
    return mb.stdout.decode().strip() or None if mb.returncode == 0 else None


def main_bandit(args: argparse.Namespace) -> int:
    from ossa_hooks.judge.bandit import scan

    return scan(args.paths)


def main_ruff(args: argparse.Namespace) -> int:
    from ossa_hooks.judge.ruff import run

    return run(args.mode)
