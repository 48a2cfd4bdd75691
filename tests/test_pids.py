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
