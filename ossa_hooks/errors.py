"""The one exception type for problems the user must fix, and its exit codes."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class OssaError(Exception):
    """A problem the user must act on: printed as one line, never as a traceback.

    ``code`` is the process exit code: 2 for usage or configuration errors (the default),
    1 when a check failed.
    """

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


def handle_errors(func: Callable[[], int], prog: str = "ossa-hooks") -> int:
    """Run ``func``; turn an ``OssaError`` into one line on stderr and its exit code.

    An unexpected exception is written with its traceback to a log file and reported as one
    line pointing at it: the user sees what happened, not a stack dump.
    """
    try:
        return func()
    except OssaError as e:
        print(f"{prog}: {e.message}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read the output went away (`ossa-hooks doctor | head -1`): stop quietly, as
        # other tools do. Standard output now goes nowhere, so the flush at exit cannot fail.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
        return 141  # 128 + SIGPIPE, what a shell shows for a tool killed by the broken pipe
    except OSError as e:
        known = os_error(e)
        if known is None:
            return _unexpected(e, prog)
        print(f"{prog}: {known.message}", file=sys.stderr)
        return known.code
    except Exception as e:  # noqa: BLE001 - the last line of defence
        return _unexpected(e, prog)


def os_error(error: OSError) -> OssaError | None:
    """The one-line error for what the system refused (a read-only folder, a name too long,
    a full disk); None for an error that is not the user's to fix."""
    import errno

    name = error.filename if error.filename is not None else ""
    from ossa_hooks.output import quote_path

    where = f"{quote_path(os.fsdecode(name))}: " if name else ""
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        folder = os.path.dirname(os.fsdecode(name)) if name else ""
        if folder and not os.path.lexists(name):
            # A file being created (often a temporary one): the folder is what to name.
            where = f"cannot write in {quote_path(folder)}: "
        return OssaError(f"{where}{error.strerror} (the folder is read-only for this user or"
                         " file system: make it writable, or run this where you may write)")
    if error.errno == errno.ENAMETOOLONG:
        return OssaError(f"{where}file name too long for the file system (use a shorter name)")
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return OssaError(f"{where}{error.strerror} (free some space, then run this again)")
    return None


def _unexpected(error: BaseException, prog: str) -> int:
    log = _write_crash_log()
    where = f"details in {log}" if log else "run it again with --verbose for the details"
    print(f"{prog}: unexpected error: {type(error).__name__}: {error} ({where})",
          file=sys.stderr)
    if os.environ.get("OSSA_HOOKS_VERBOSE") == "1":
        import traceback

        traceback.print_exc(file=sys.stderr)
    return EXIT_USAGE


def crash_log_folder() -> str | None:
    """Where the crash log goes: ``$XDG_CACHE_HOME/ossa-hooks`` or ``~/.cache/ossa-hooks`` when
    that cache's parent folder exists (a missing home is never created: ``HOME=/nonexistent``
    stays nonexistent), else the temporary folder; None when none can be written."""
    import tempfile

    home = os.path.expanduser("~")
    candidates = [
        (os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("XDG_CACHE_HOME", "")),
        (os.path.join(home, ".cache"), home),
    ]
    for cache, must_exist in candidates:
        if not cache or not os.path.isabs(must_exist) or not os.path.isdir(must_exist):
            continue
        folder = os.path.join(cache, "ossa-hooks")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    folder = tempfile.gettempdir()
    return folder if os.access(folder, os.W_OK) else None


def _write_crash_log() -> str | None:
    import traceback

    folder = crash_log_folder()
    if folder is None:
        return None
    path = os.path.join(folder, "ossa-hooks.log")
    try:
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"### argv: {sys.argv!r}\n{traceback.format_exc()}\n")
    except OSError:
        return None
    return path
