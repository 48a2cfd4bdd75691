"""Process and process-group liveness, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys

from ossa_hooks import pids


def test_a_running_process_and_its_group_are_alive_until_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                            start_new_session=True)
    try:
        assert pids.alive(proc.pid)
        assert pids.group_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert not pids.alive(proc.pid)
    assert not pids.group_alive(proc.pid)


def test_this_process_is_alive() -> None:
    assert pids.alive(os.getpid())


def test_an_exited_process_nobody_reaped_is_not_alive() -> None:
    """A zombie (exited, not yet collected by its parent) no longer runs: a lease, a run or
    an agent it held is over, whatever the system's first process does about reaping."""
    import time

    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while pids._state(str(proc.pid)) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pids._state(str(proc.pid)) == "Z"  # exited, still not reaped by us
        os.kill(proc.pid, 0)  # the kernel still knows it...
        assert not pids.alive(proc.pid)  # ...but it does not run
        assert not pids.group_alive(proc.pid)
    finally:
        proc.wait()
