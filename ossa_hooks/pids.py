"""Whether a process or a process group still exists (for stale locks, runs and agents)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def alive(pid: int) -> bool:
    """True while process ``pid`` exists (a process we may not signal still exists)."""
    return _probe(os.kill, pid)


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` exists."""
    return _probe(os.killpg, pgid)


def _probe(send: Callable[[int, int], None], ident: int) -> bool:
    try:
        send(ident, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
