"""Live sessions: a CLI agent run interactively in a tmux session one can attach to, watch and
type into (``spawn --interactive``, ``agents run --interactive``, ``agents attach ID``).

The session's first process is this module's ``main`` (a small keeper), which holds what a
headless call holds: the worktree's lease for the whole session, the agent's identity in the
program's environment, the registry's ``running`` status and pid (so ``agents terminate``
ends it), then, when the program exits, one ledger entry (tokens counted with tiktoken on the
session's transcript, which tmux writes to ``.agents-workspace/logs/session-AGENT.log``) and one
audit event. Headless runs stay the default.

``OSSA_TMUX_SOCKET`` names a private tmux server (``tmux -L NAME``); unset, the user's own.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks import git
from ossa_hooks.agents import budget
from ossa_hooks.agents import registry
from ossa_hooks.agents import runner
from ossa_hooks.agents import specs as spec_mod
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

SOCKET_ENV = "OSSA_TMUX_SOCKET"
PHASE = "interactive"
# How each preset runs for a person at a terminal: the program without its headless flags; the
# first prompt goes as an argument where the program takes one, else it is typed in.
INTERACTIVE: dict[str, tuple[str, ...]] = {
    "claude-code": ("claude",),
    "codex": ("codex",),
    "aider": ("aider",),
}
PROMPT_AS_ARGUMENT = frozenset({"claude-code", "codex"})
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


@dataclass(frozen=True, slots=True)
class Session:
    agent_id: str
    name: str
    socket: str | None
    worktree: str
    log: str

    def tmux(self, *args: str) -> list[str]:
        return tmux_argv(self.socket, *args)

    def attach_hint(self) -> str:
        return f"ossa-hooks agents attach {self.agent_id}"


def tmux_argv(socket: str | None, *args: str) -> list[str]:
    return ["tmux", *(("-L", socket) if socket else ()), *args]


def tmux_path() -> str:
    found = shutil.which("tmux")
    if found is None:
        raise OssaError("tmux is not installed: install it (apt-get install tmux), or run the"
                        " agent headless (without --interactive)")
    return found


def session_name(task: str) -> str:
    """``ossa-TASK``, made acceptable to tmux (no '.' or ':')."""
    return "ossa-" + re.sub(r"[.:\s]", "-", task)


def _records(repo: RepoPaths) -> Path:
    return repo.state_dir / "sessions"


def _record_path(repo: RepoPaths, agent_id: str) -> Path:
    return _records(repo) / f"{agent_id}.json"


def read(repo: RepoPaths, agent_id: str) -> Session | None:
    try:
        d = json.loads(_record_path(repo, agent_id).read_text(encoding="utf-8"))
        return Session(d["agent_id"], d["name"], d.get("socket"), d["worktree"], d["log"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def alive(s: Session) -> bool:
    return subprocess.run(s.tmux("has-session", "-t", f"={s.name}"), capture_output=True,
                          check=False).returncode == 0


def interactive_argv(spec: spec_mod.AgentSpec, prompt: str | None) -> tuple[list[str], bool]:
    """The program to run at the session's terminal, and whether the prompt is in it (else it
    is typed into the session once the program runs)."""
    p = spec.provider
    if p.type in INTERACTIVE:
        argv = list(INTERACTIVE[p.type])
        if p.model:  # Claude Code, Codex and aider all take --model
            argv += ["--model", p.model]
        argv += list(p.args)
        if prompt and p.type in PROMPT_AS_ARGUMENT:
            return [*argv, prompt], True
        return argv, False
    if p.type == "command":
        return shlex.split(p.command or ""), False
    raise OssaError(f"provider {p.type!r} has no interactive program: run it headless")


def start(repo: RepoPaths, config: Config, agent_id: str, prompt: str | None = None,
          *, echo: Callable[[str], None] = print) -> Session:
    """Start ``agent_id``'s program in a detached tmux session named after its task."""
    tmux_path()
    rec = registry.refresh(repo, registry.get(repo, agent_id))
    if rec.status == "running":
        raise OssaError(f"agent {agent_id} is already running (pid {rec.pid})", code=1)
    spec = spec_mod.load_spec(Path(rec.spec))
    from ossa_hooks import trust

    trust.require_trusted(repo, spec_mod.trust_kind(spec), spec_mod.commands_to_trust(spec),
                          source=str(spec.path) if spec.path else None)
    worktree = Path(rec.worktree)
    specs = spec_mod.load_workspace_specs(worktree)
    specs[spec.name] = spec
    task = runner.ensure_task(repo, config, worktree, specs)
    if prompt:
        tokens = budget.count_tokens(prompt, str(config.get("budget.encoding")))
        budget.check_before(repo, task, spec.name, tokens)
    from ossa_hooks.worktree import lease

    held = lease.read(repo, worktree)
    if held is not None and lease.is_live(held):
        raise lease.LeaseHeld(f"{worktree} is in use by {held.describe()}: wait for it to"
                              " finish, or stop it", 1)
    argv, prompt_in_argv = interactive_argv(spec, prompt)
    socket = os.environ.get(SOCKET_ENV) or None
    name = session_name(task.name)
    log = spec_mod.workspace(worktree) / "logs" / f"session-{spec.name}.log"
    s = Session(agent_id, name, socket, str(worktree), str(log))
    if alive(s):
        raise OssaError(f"tmux session {name} already exists: attach to it (tmux"
                        f"{' -L ' + socket if socket else ''} attach -t {name}) or end it first",
                        code=1)
    keeper = [sys.executable, "-m", "ossa_hooks.agents.session", "--agent-id", agent_id,
              "--worktree", str(worktree), "--prompt-tokens",
              str(budget.count_tokens(prompt, str(config.get("budget.encoding"))) if prompt
                  else 0), "--", *argv]
    env = git.no_git_env()
    proc = subprocess.run(s.tmux("new-session", "-d", "-s", name, "-c", str(worktree),
                                 "-x", "200", "-y", "50", "exec " + shlex.join(keeper)),
                          capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        said = proc.stderr.decode("utf-8", "replace").strip()
        raise OssaError(f"tmux new-session failed: {said}", code=1)
    _record_path(repo, agent_id).parent.mkdir(parents=True, exist_ok=True)
    _record_path(repo, agent_id).write_text(json.dumps(
        {"agent_id": agent_id, "name": name, "socket": socket, "worktree": str(worktree),
         "log": str(log)}), encoding="utf-8")
    if prompt and not prompt_in_argv:
        _type_in(s, prompt)
    from ossa_hooks import audit

    audit.record(repo, "agents", "session-start", 0, 0.0,
                 {"agent": agent_id, "session": name, "argv": argv[:8]})
    echo(f"started {agent_id} ({spec.provider.type}) in tmux session {name}"
         f"{' on socket ' + socket if socket else ''}; attach: {s.attach_hint()}")
    return s


def start_coder(repo: RepoPaths, config: Config, worktree: Path, task: str) -> Session:
    """``spawn --interactive``: register the coder of ``worktree`` and start its session with
    the task as its first prompt."""
    spec = spec_mod.load_spec(spec_mod.spec_path(worktree, "coder"))
    return start(repo, config, registry.spawn(repo, spec, worktree), task)


def _type_in(s: Session, text: str, wait: float = 10.0) -> None:
    """Type ``text`` and Enter into the session once its program runs (the keeper started it)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        cmd = subprocess.run(s.tmux("display-message", "-p", "-t", f"={s.name}:",
                                    "#{pane_current_command}"), capture_output=True, check=False)
        current = cmd.stdout.decode().strip()
        if cmd.returncode != 0 or (current and not current.startswith("python")):
            break
        time.sleep(0.1)
    subprocess.run(s.tmux("send-keys", "-t", f"={s.name}:", "-l", text), check=False)
    subprocess.run(s.tmux("send-keys", "-t", f"={s.name}:", "Enter"), check=False)


def attach(repo: RepoPaths, agent_id: str) -> int:
    """Attach this terminal to the agent's session (``tmux attach``); detach with C-b d."""
    registry.get(repo, agent_id)  # an unknown id is the registry's one-line error
    s = read(repo, agent_id)
    if s is None:
        raise OssaError(f"agent {agent_id} has no live session (start one: ossa-hooks agents"
                        f" run {agent_id} --interactive)")
    tmux_path()
    if not alive(s):
        raise OssaError(f"the session of {agent_id} ({s.name}) has ended; its transcript:"
                        f" {s.log}")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise OssaError(f"attach needs a terminal; to read what {agent_id} printed: "
                        + shlex.join(s.tmux("capture-pane", "-p", "-t", s.name)))
    return subprocess.run(s.tmux("attach-session", "-t", f"={s.name}"), check=False).returncode


# --- the keeper: the session's first process ------------------------------------------------------


def transcript_tokens(log: Path, encoding_name: str) -> int:
    try:
        text = log.read_bytes().decode("utf-8", "replace")
    except OSError:
        return 0
    return budget.count_tokens(_ANSI.sub("", text).replace("\r", ""), encoding_name)


def keep(agent_id: str, worktree: Path, argv: Sequence[str], prompt_tokens: int) -> int:
    """Run ``argv`` at this terminal under the agent's lease and identity; record it after."""
    from ossa_hooks import audit
    from ossa_hooks import config as config_mod
    from ossa_hooks.worktree import lease

    repo = git.repo_paths(worktree)
    config = config_mod.load(worktree)
    rec = registry.get(repo, agent_id)
    spec = spec_mod.load_spec(Path(rec.spec))
    specs = spec_mod.load_workspace_specs(worktree)
    specs[spec.name] = spec
    task = runner.ensure_task(repo, config, worktree, specs)
    log = spec_mod.workspace(worktree) / "logs" / f"session-{spec.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    pane = os.environ.get("TMUX_PANE")
    if pane:  # everything the program shows goes to the transcript too
        subprocess.run(["tmux", "pipe-pane", "-o", "-t", pane, f"cat >> {shlex.quote(str(log))}"],
                       check=False)
    env = runner.agent_environment(repo, spec, agent_id, task, worktree, PHASE, rec.workflow)
    start = time.monotonic()
    with lease.held(repo, worktree, f"agent {agent_id}", agent_id=agent_id):
        registry.update(repo, agent_id, status="running", pid=os.getpid(), phase=PHASE)
        code = _run_at_terminal(argv, worktree, env)
    seconds = time.monotonic() - start
    if pane:
        subprocess.run(["tmux", "pipe-pane", "-t", pane], check=False)
    encoding_name = str(config.get("budget.encoding"))
    usage = budget.Usage(prompt_tokens, transcript_tokens(log, encoding_name),
                         f"tiktoken:{encoding_name}:transcript")
    budget.record(repo, task, agent=spec.name, agent_type=spec.type, phase=PHASE, usage=usage,
                  workflow=rec.workflow, exit_code=code, seconds=seconds)
    now = registry.get(repo, agent_id)
    terminated = now.status == "terminated"
    registry.update(repo, agent_id, status="terminated" if terminated else (
        "done" if code == 0 else "failed"), pid=None, last_exit=code, calls=now.calls + 1)
    audit.record(repo, "agents", "session", 0 if code == 0 else 1, seconds,
                 {"agent": agent_id, "tokens": usage.total, "exit": code, "log": str(log)})
    try:
        budget.check_after(repo, task, spec.name)
    except budget.BudgetExceeded as e:
        budget.escalate(repo, config, task, e.reason, rec.workflow)
    return code


def _run_at_terminal(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
    """Run the program in the foreground; Ctrl-C is for it, and a hang-up or ``terminate``
    reaches it too, while this process stays to record what happened."""
    try:
        child = subprocess.Popen(list(argv), cwd=cwd, env=env)
    except FileNotFoundError:
        print(f"ossa-hooks: '{argv[0]}' is not installed (not found on PATH)")
        return 127

    def forward(signum: int, _frame: object) -> None:
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGHUP, signal.SIGTERM)}
    old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="ossa-hooks-session")
    p.add_argument("--agent-id", required=True)
    p.add_argument("--worktree", required=True, type=Path)
    p.add_argument("--prompt-tokens", type=int, default=0)
    p.add_argument("program", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    from ossa_hooks.errors import handle_errors

    return handle_errors(lambda: keep(args.agent_id, args.worktree, program,
                                      args.prompt_tokens))


if __name__ == "__main__":
    raise SystemExit(main())
