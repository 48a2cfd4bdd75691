"""Thin adapters from parsed arguments to the modules that do the work."""

from __future__ import annotations

import argparse
import json
import sys


def install(args: argparse.Namespace) -> int:
    from ossa_hooks.install import install as do_install

    return do_install(args.repo, args.hook_types, force=args.force)


def uninstall(args: argparse.Namespace) -> int:
    from ossa_hooks.install import uninstall as do_uninstall

    return do_uninstall(args.repo, args.hook_types)


def run(args: argparse.Namespace) -> int:
    from ossa_hooks.run import run as do_run

    hook_args = list(args.args)
    if hook_args[:1] == ["--"]:
        hook_args = hook_args[1:]
    stdin = b""
    if args.hook == "pre-push" and not sys.stdin.isatty():
        stdin = sys.stdin.buffer.read()
    return do_run(args.hook, hook_args, stdin)


def doctor(args: argparse.Namespace) -> int:
    from ossa_hooks.doctor import doctor as do_doctor

    return do_doctor(args.repo)


def audit(args: argparse.Namespace) -> int:
    from ossa_hooks import audit as audit_mod
    from ossa_hooks import git

    repo = git.repo_paths()
    events = audit_mod.events(repo, limit=args.limit or None, name=args.name)
    if args.format == "json":
        print(json.dumps([e.as_json() for e in events], indent=2))
    else:
        print(audit_mod.format_text(events))
    return 0
