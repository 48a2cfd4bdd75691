"""Sandboxed agents (``sandbox: bwrap`` in an agent spec): the agent program runs under
bubblewrap with the whole file system read-only except its worktree (the task's workspace is
inside it) and the folders the spec names in ``sandbox.writable``; the user's SSH keys, cloud
and GitHub credentials and every other worktree's ``.env`` are hidden; with ``network: false``
it has no network at all (its own network namespace holds only a loopback device).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.agents.specs import WORKSPACE
from ossa_hooks.agents.specs import Sandbox
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.doctor import Finding

# Secrets a coding agent never needs, relative to the home folder.
HIDDEN = (".ssh", ".aws", ".config/gh", ".gnupg", ".netrc", ".docker/config.json",
          ".config/gcloud", ".azure", ".kube")


def bwrap() -> str | None:
    return shutil.which("bwrap")


def _worktrees(repo: RepoPaths) -> list[Path]:
    data = git.run(["worktree", "list", "--porcelain", "-z"], repo.toplevel or repo.git_dir)
    return [Path(f[len(b"worktree "):].decode("utf-8", "surrogateescape"))
            for f in data.stdout.split(b"\0") if f.startswith(b"worktree ")]


def wrap(argv: list[str], sandbox: Sandbox, worktree: Path, repo: RepoPaths,
         home: Path | None = None) -> list[str]:
    """``argv`` run under bwrap as ``sandbox`` says (unchanged when it says ``none``)."""
    if sandbox.type == "none":
        return argv
    exe = bwrap()
    if exe is None:
        raise OssaError("the agent's spec asks for sandbox: bwrap, but bubblewrap is not "
                        "installed (Debian/Ubuntu: apt-get install bubblewrap)", code=1)
    home = home or Path(os.path.expanduser("~"))
    here = Path(os.path.realpath(worktree))
    # /tmp stays visible but read-only like the rest; the agent's own temporary folder is in
    # its workspace (TMPDIR), which is inside the worktree it may write.
    tmp = here / WORKSPACE / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out = [exe, "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--bind", str(here), str(here), "--setenv", "TMPDIR", str(tmp)]
    for extra in sandbox.writable:
        path = Path(os.path.expanduser(extra))
        if not path.is_absolute():
            path = here / path
        path.mkdir(parents=True, exist_ok=True)
        out += ["--bind", str(path), str(path)]
    # Files are hidden behind an empty file (binding /dev/null would give a device node the
    # sandbox may not open: reading it would fail instead of reading nothing).
    empty = repo.state_dir / "sandbox-empty"
    if not empty.exists():
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.write_bytes(b"")
    for rel in HIDDEN:
        target = home / rel
        if target.is_dir():
            out += ["--tmpfs", str(target)]
        elif target.exists():
            out += ["--ro-bind", str(empty), str(target)]
    for other in _worktrees(repo):
        env = Path(os.path.realpath(other)) / ".env"
        if Path(os.path.realpath(other)) != here and env.exists():
            out += ["--ro-bind", str(empty), str(env)]
    if not sandbox.network:
        out.append("--unshare-net")
    return [*out, "--chdir", str(here), "--", *argv]


def doctor_check(repo: RepoPaths) -> list[Finding]:
    """Whether ``sandbox: bwrap`` can work here: bwrap installed and allowed to make its
    namespaces (some containers and hardened kernels forbid unprivileged user namespaces)."""
    import subprocess

    from ossa_hooks.doctor import Finding

    exe = bwrap()
    where = "sandbox"
    if exe is None:
        return [Finding("note", where, "bubblewrap is not installed: agents with sandbox: bwrap "
                        "cannot run", "apt-get install bubblewrap")]
    try:
        proc = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net",
                               "--", "true"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [Finding("problem", where, f"{exe} does not run: {e}")]
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return [Finding("problem", where, f"{exe} cannot make a sandbox here: "
                        f"{detail[-1] if detail else f'exit {proc.returncode}'}")]
    return [Finding("ok", where, f"sandboxing available ({exe})")]
