"""What a person sees: streams that never fail on a character, ``--quiet`` / ``--verbose``,
colour as no-color.org defines it, and file names quoted the way git quotes them.

Every entry point (the command line and the hook shim) calls :func:`setup_streams` first, so
an ASCII locale (``LC_ALL=C PYTHONUTF8=0``) or a file name that is not UTF-8 never turns a
``print`` into a crash.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

# ``--verbose`` and ``--quiet`` travel in the environment: hooks get no options from git, and a
# hook started by a git command of a verbose ossa-hooks command is verbose too.
VERBOSE_VAR = "OSSA_HOOKS_VERBOSE"
QUIET_VAR = "OSSA_HOOKS_QUIET"

_HANDLER = "ossa-hooks-bytes"


def _bytes_or_escape(error: UnicodeError) -> tuple[str | bytes, int]:
    """Encoding error handler: a file name's undecodable byte (a surrogate escape) goes out as
    that byte, any other character the stream's encoding lacks as a backslash escape."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start:error.end]
    if all("\udc80" <= c <= "\udcff" for c in chunk):
        return bytes(ord(c) - 0xDC00 for c in chunk), error.end
    return chunk.encode("ascii", "backslashreplace").decode("ascii"), error.end


def setup_streams() -> None:
    """Make standard output and error write anything: in any locale, any file name."""
    import codecs

    try:
        codecs.lookup_error(_HANDLER)
    except LookupError:
        codecs.register_error(_HANDLER, _bytes_or_escape)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=_HANDLER)
            except (ValueError, OSError):  # a closed or replaced stream: leave it as it is
                pass


def verbose() -> bool:
    return os.environ.get(VERBOSE_VAR) == "1"


def quiet() -> bool:
    return os.environ.get(QUIET_VAR) == "1"


def set_level(*, quiet: bool, verbose: bool) -> None:
    """Apply ``--quiet`` / ``--verbose`` to this process and the processes it starts."""
    if quiet:
        os.environ[QUIET_VAR] = "1"
    if verbose:
        os.environ[VERBOSE_VAR] = "1"


def use_color(stream: TextIO | object) -> bool:
    """Colour only on a terminal, and not when ``NO_COLOR`` is set to a non-empty value
    (no-color.org: an empty ``NO_COLOR=`` does not count)."""
    isatty = getattr(stream, "isatty", None)
    if not callable(isatty) or not isatty():
        return False
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r",
    '"': '\\"', "\\": "\\\\",
}


def quote_path(name: str) -> str:
    """``name`` as git prints a path with ``core.quotePath=false``: as it is, unless it holds a
    control character, a quote, a backslash or a byte that is not UTF-8 (a surrogate escape);
    then in double quotes with C escapes (``"a\\nb"``, ``"\\377"``)."""
    if name.isprintable() and '"' not in name and "\\" not in name:
        return name
    out = []
    for c in name:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif "\udc80" <= c <= "\udcff":
            out.append(f"\\{ord(c) - 0xDC00:03o}")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\{ord(c):03o}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'
