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
    except Exception as e:  # noqa: BLE001 - the last line of defence
        log = _write_crash_log()
        print(f"{prog}: unexpected error: {type(e).__name__}: {e} (details in {log})",
              file=sys.stderr)
        return EXIT_USAGE


def _write_crash_log() -> str:
    import tempfile
    import traceback

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "ossa-hooks")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        folder = tempfile.gettempdir()
    path = os.path.join(folder, "ossa-hooks.log")
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"### argv: {sys.argv!r}\n{traceback.format_exc()}\n")
    return path
