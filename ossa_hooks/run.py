"""``ossa-hooks run``: what the installed shims and the pre-commit framework call.

Loads the config, runs the actions of one hook type (or one action id), honours ``SKIP``,
and records one audit event per run. This is the hottest path of the project: it imports
only what the run needs, and an action's module only when that action runs.
"""

from __future__ import annotations

import os
import sys
import time

from ossa_hooks.errors import EXIT_USAGE
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence
    from typing import NoReturn

    from ossa_hooks.actions import Action
    from ossa_hooks.git import RepoPaths
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.hook_context import Prefetched


def run(
    what: str,
    args: Sequence[str],
    stdin: bytes | None = None,
    environ: Mapping[str, str] | None = None,
    repo: RepoPaths | None = None,
    prefetched: Prefetched | None = None,
) -> int:
    """Run hook type or action id ``what``; return the exit code for git.

    ``prefetched``: answers the shim's git questions gave (see ``shim_main``).
    """
    from ossa_hooks import audit
    from ossa_hooks import config as config_mod
    from ossa_hooks import git
    from ossa_hooks.actions import BY_ID
    from ossa_hooks.hook_context import HookContext
    from ossa_hooks.hook_context import from_pre_commit

    env = os.environ if environ is None else environ
    start = time.perf_counter()
    via_pre_commit = env.get("PRE_COMMIT") == "1"
    chosen: list[str] | None = None
    if what in BY_ID:
        action = BY_ID[what]
        chosen = [what]
        if via_pre_commit:
            hook_type, git_args, stdin_bytes = from_pre_commit(env, action.hook_types)
        else:
            hook_type, git_args, stdin_bytes = action.hook_types[0], tuple(args), stdin or b""
    elif what in config_mod.HOOK_TYPES:
        hook_type, git_args, stdin_bytes = what, tuple(args), stdin or b""
    else:
        known = ", ".join((*config_mod.HOOK_TYPES, *BY_ID))
        raise OssaError(f"unknown hook type or action '{what}' (known: {known})")

    if repo is None:
        repo = git.repo_paths()
    try:
        cfg = config_mod.load(repo.toplevel_str, cache_dir=repo.git_dir_str)
    except OssaError as e:
        audit.record(repo, "hook", what, EXIT_USAGE, time.perf_counter() - start,
                     {"hook_type": hook_type, "error": e.message})
        raise
    ids = chosen if chosen is not None else list(cfg.get("hooks").get(hook_type, []))
    skip = config_mod.skipped_ids(env)
    ctx = HookContext(
        hook_type=hook_type,
        args=git_args,
        repo=repo,
        config=cfg,
        stdin=stdin_bytes,
        # Under the pre-commit framework the arguments are the files it passes.
        filenames=tuple(args) if via_pre_commit and chosen is not None else (),
        via_pre_commit=via_pre_commit,
        environ=env,
        prefetched=prefetched,
    )
    if via_pre_commit and hook_type == "pre-push" and "ossa-judge" in ids \
            and "ossa-judge" not in skip:
        # pre-commit hands no hook git's list of pushed refs: say what is judged instead.
        names = ", ".join(r.local_ref for r in ctx.pushed_refs) or "nothing (no commit)"
        print(f"ossa-judge: refs decided from git (pre-commit passes at most one): {names}",
              file=sys.stderr)
    results: dict[str, str] = {}
    code = 0
    # A hook waits at most a second for a state database another process holds (the
    # user's git command waits on the hook); the variable reaches what the actions start.
    timeout_set = _BUSY_TIMEOUT_VAR not in os.environ
    if timeout_set:
        os.environ[_BUSY_TIMEOUT_VAR] = "1"
    try:
        for action_id in ids:
            action = BY_ID[action_id]
            if action_id in skip:
                results[action_id] = "skipped"
                if action.target is not None:
                    print(f"ossa-hooks: {action_id}: skipped (SKIP)", file=sys.stderr)
                continue
            try:
                rc = _call(action, ctx)
            except OssaError as e:
                # One action's trouble (a locked or corrupt database) is its own line; the
                # hook's other actions still run. Without git, none can: one line for all.
                if isinstance(e, git.GitUnavailable):
                    raise
                print(f"ossa-hooks: {action_id}: {e.message}", file=sys.stderr)
                rc = e.code
            results[action_id] = ({0: "ok", 1: "failed"}.get(rc, "error") if action.target
                                  else "none")
            code = max(code, rc)
    finally:
        if timeout_set:
            os.environ.pop(_BUSY_TIMEOUT_VAR, None)
    detail: dict[str, object] = {"hook_type": hook_type, "actions": results,
                                 "args": list(git_args)}
    if hook_type == "pre-push":
        detail["refs"] = [r.local_ref for r in ctx.pushed_refs]
    if via_pre_commit:
        detail["via"] = "pre-commit"
    audit.record(repo, "hook", what, code, time.perf_counter() - start, detail)
    return code


# store.BUSY_TIMEOUT_VAR, spelled here: importing store (contextlib) costs a hook time.
_BUSY_TIMEOUT_VAR = "OSSA_HOOKS_BUSY_TIMEOUT"


def _call(action: Action, ctx: HookContext) -> int:
    if action.target is None:
        return 0
    module_name, _, func_name = action.target.partition(":")
    # __import__ rather than importlib.import_module: importlib (and the warnings module it
    # loads) would be imported by every hook only for this call.
    func = getattr(__import__(module_name, fromlist=[func_name]), func_name)
    return int(func(ctx))


def shim_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the installed shims: ``HOOK_TYPE [GIT ARGS...]``, no argparse.

    Called by a shim (``argv`` None), it ends the process itself: see ``_end_process``.
    """
    from ossa_hooks.errors import handle_errors
    from ossa_hooks.output import setup_streams

    setup_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("ossa-hooks: the hook shim needs a hook type", file=sys.stderr)
        return EXIT_USAGE
    hook_type, args = argv[0], argv[1:]
    answers = _take_prefetched()
    stdin = b""
    if hook_type in ("pre-push", "reference-transaction") and not sys.stdin.isatty():
        stdin = sys.stdin.buffer.read()

    def go() -> int:
        from ossa_hooks import git

        repo = git.hook_repo_paths()
        prefetched = answers
        if prefetched is not None and not git.hook_env_is_plain(repo):
            prefetched.close()  # git ran with variables that can change its answers: ask again
            prefetched = None
        return run(hook_type, args, stdin, repo=repo, prefetched=prefetched)

    code = handle_errors(go)
    if argv is None:
        _end_process(code)
    return code


def _take_prefetched() -> Prefetched | None:
    """The shim's prefetched answers, when it sent them on standard input.

    The pipe is moved off descriptor 0 (which gets /dev/null), and the variable leaves the
    environment: no git command or nested hook started from here sees either.
    """
    if os.environ.pop("OSSA_PREFETCH", "") != "stdin":
        return None
    from ossa_hooks.hook_context import Prefetched

    fd = os.dup(0)  # not inherited by children (PEP 446)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return Prefetched(fd)


def _end_process(code: int) -> NoReturn:
    """Exit with ``code`` now, after flushing output, without the interpreter's tear-down.

    Tearing down every imported module costs a hook about 3 ms, and nothing is left for it
    to do: a hook's temporary files are removed in ``finally`` blocks, its worker threads
    are joined, and no module registers ``atexit`` handlers on the hook paths.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)
