"""``ossa-hooks scan``: the commit guard's secret scan, on demand."""

from __future__ import annotations

import argparse

from ossa_hooks.commands import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "scan",
        help="scan for secrets: the staged changes (default), all files, commits or paths",
        description="Scan the added lines of the staged changes (default), every tracked file, "
        "the commits of a range, or files and folders on disk. Exit 1 when a secret is found.",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--staged", action="store_true", help="the staged changes (default)")
    what.add_argument("--all-files", action="store_true", help="every file in the index")
    what.add_argument("--rev", metavar="A..B",
                      help="what each commit of a range (or one commit) added")
    what.add_argument("--all-history", action="store_true",
                      help="what every commit of every branch and tag added")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders on disk")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    p.add_argument(
        "--update-baseline", action="store_true",
        help="record the findings in the baseline (default scope: all files) instead of failing",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.errors import OssaError
    from ossa_hooks.secrets import engine as secrets

    if args.paths and (args.staged or args.all_files or args.rev or args.all_history):
        raise OssaError("give PATHs or one of --staged, --all-files, --rev, --all-history, "
                        "not both")
    try:
        repo: git.RepoPaths | None = git.repo_paths()
    except OssaError:
        if not args.paths:
            raise
        repo = None
    root = repo.toplevel if repo is not None else None
    cfg = config_mod.load(root)
    everything = args.all_files or (args.update_baseline and not (
        args.staged or args.rev or args.paths or args.all_history))
    progress = _Progress(sys.stderr)
    engine = secrets.engine_for(cfg, root=root)
    engine.progress = progress.say
    if args.paths:
        where = "the given paths"
        result = secrets.scan_paths(args.paths, cfg, root=root, engine=engine)
    else:
        assert repo is not None
        progress.say("reading the changes…")
        if everything:
            where = "all files"
            result = secrets.scan_all_files(repo, cfg, engine=engine)
        elif args.rev or args.all_history:
            where = f"the commits {args.rev}" if args.rev else "the whole history"
            result = secrets.scan_rev(repo, cfg, args.rev, engine=engine)
        else:
            where = "the staged changes"
            result = secrets.scan_staged(repo, cfg, engine=engine)
    progress.done()
    if args.update_baseline:
        return _update_baseline(repo, cfg, result, everything=everything)
    if repo is not None:
        secrets.apply_baseline(result, secrets.load_baseline(repo, cfg))
    if args.format == "json":
        import json

        print(json.dumps([f.as_json() for f in sorted(result.findings, key=_order)], indent=2,
                         ensure_ascii=False))
    elif args.format == "sarif":
        import json

        from ossa_hooks.secrets.report import sarif

        print(json.dumps(sarif(result.findings), indent=2, ensure_ascii=False))
    else:
        for line in secrets.format_text(result):
            print(line)
        print(f"ossa-hooks scan: {secrets.summary(result, where)}")
        if result.findings:
            print(f"hint: {secrets.HOW_TO_ALLOW}")
    return 1 if result.findings else 0


def _order(f: object) -> tuple[str, int, str]:
    return (getattr(f, "path", ""), getattr(f, "line", 0), getattr(f, "kind", ""))


def _update_baseline(repo: object, cfg: object, result: object, *, everything: bool) -> int:
    from ossa_hooks.config import Config
    from ossa_hooks.errors import OssaError
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.secrets import baseline as secret_baseline
    from ossa_hooks.secrets import engine as secrets

    assert isinstance(cfg, Config) and isinstance(result, secrets.ScanResult)
    if not isinstance(repo, RepoPaths):
        raise OssaError("--update-baseline needs a git repository")
    name = str(cfg.get("secrets.baseline"))
    path = repo.worktree / name
    previous = secret_baseline.load(path)
    data = secret_baseline.build(result.findings, previous, result.paths, everything=everything,
                                 filename=name,
                                 still_found=secret_baseline.detect_secrets_findings(repo.worktree))
    secret_baseline.write(path, data)
    n = sum(len(v) for v in data["results"].values())
    print(f"ossa-hooks scan: wrote {name}: {n} known finding{'s' if n != 1 else ''} in "
          f"{len(data['results'])} file{'s' if len(data['results']) != 1 else ''} "
          f"(review them with `detect-secrets audit {name}`)")
    return 0


class _Progress:
    """One line on a terminal's stderr while a long scan runs; nothing when not a terminal."""

    def __init__(self, stream: object) -> None:
        self.stream = stream
        self.on = bool(getattr(stream, "isatty", lambda: False)())
        self.shown = False

    def say(self, text: str) -> None:
        if self.on:
            print(f"\rossa-hooks scan: {text}", end="", file=self.stream, flush=True)  # type: ignore[call-overload]
            self.shown = True

    def done(self) -> None:
        if self.shown:
            print("\r\033[K", end="", file=self.stream, flush=True)  # type: ignore[call-overload]
