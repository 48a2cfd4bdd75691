"""One agent call: the budget check before it, the program run in its own process group (so a
timeout, Ctrl-C, SIGTERM, SIGHUP or ``ossa agents terminate`` ends everything it started), its
output and usage read from the program's own report, the durable record of the prompt and the
answer, and an honest outcome: a non-zero exit, a timeout, an error result or a denied tool call
fails the call with its reason.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from ossa_hooks import git
from ossa_hooks import identity
from ossa_hooks import pids
from ossa_hooks.agents import budget as budget
from ossa_hooks.agents import providers as providers
from ossa_hooks.agents import record as record
from ossa_hooks.agents import registry as registry
from ossa_hooks.agents import sandbox as sandbox
from ossa_hooks.agents.specs import AgentSpec
from ossa_hooks.agents.specs import budgets_of
from ossa_hooks.agents.specs import load_spec
from ossa_hooks.agents.specs import load_workspace_specs
from ossa_hooks.agents.specs import workspace
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

# --- signals -----------------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """The runner got SIGTERM or SIGHUP: unwind like Ctrl-C (the agent's group is ended and the
    phase recorded as interrupted)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def trapped() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread while the block runs
    (by default they would end the runner at once and leave its agent running, orphaned).
    Only the first signal raises: the clean-up it starts is not interrupted again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not fired:
            fired.append(signum)
            raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# --- running a program -------------------------------------------------------------------------


def run_program(
    argv: list[str],
    stdin: bytes | None,
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    timeout: float | None,
    on_start: Callable[[int], None] | None = None,
) -> tuple[int, str, bool, float]:
    """Run ``argv`` in its own process group; stdout and stderr go to ``log_path`` as they come.

    Returns (exit code, stdout, timed out, seconds). A timeout, or any exception in the runner
    (Ctrl-C, :class:`Interrupted`), kills the whole group before it goes on.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log_path.open("ab") as log:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=dict(env), start_new_session=True,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=log,
            )
        except FileNotFoundError:
            raise OssaError(f"'{argv[0]}' is not installed (not found on PATH)", code=1) from None
        except PermissionError:
            raise OssaError(f"'{argv[0]}' is not executable", code=1) from None
        chunks: list[bytes] = []
        assert proc.stdout is not None
        fd = proc.stdout.fileno()

        def pump() -> None:
            for chunk in iter(lambda: os.read(fd, 65536), b""):
                chunks.append(chunk)
                log.write(chunk)
                log.flush()

        reader = threading.Thread(target=pump, daemon=True)
        timed_out = False
        try:
            if on_start is not None:
                on_start(proc.pid)
            reader.start()
            if stdin is not None and proc.stdin is not None:
                try:
                    proc.stdin.write(stdin)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_group(proc.pid)
                proc.wait()
        except BaseException:
            kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            if reader.is_alive():
                reader.join(timeout=5)
    stdout = b"".join(chunks).decode("utf-8", "replace")
    return proc.returncode, stdout, timed_out, time.monotonic() - start


def kill_group(pgid: int, grace: float = 2.0) -> None:
    """SIGTERM the group, then SIGKILL what is left after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and pids.group_alive(pgid):
            time.sleep(0.05)
        if not pids.group_alive(pgid):
            return


# --- one budgeted call -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallResult:
    agent_id: str
    text: str
    usage: budget.Usage
    exit_code: int
    seconds: float
    log: Path
    report: providers.Report


def agent_environment(repo: RepoPaths, spec: AgentSpec, agent_id: str, task: budget.TaskRef,
                      worktree: Path, phase: str, workflow: int | None) -> dict[str, str]:
    """The environment an agent program runs in: its identity, its phase and workspace, the
    spec's variables, and the guard's ``git`` first on its PATH."""
    from ossa_hooks.worktree.guard_git import agent_environ

    env = git.no_git_env()
    who = identity.Identity(agent_id, name=spec.name, agent_type=spec.type, task=task.name,
                            branch=task.branch, worktree=str(worktree),
                            workflow_id="" if workflow is None else str(workflow))
    env.update(who.environ())
    env.update({"OSSA_PHASE": phase, "OSSA_WORKSPACE": str(workspace(worktree))})
    env.update(dict(spec.provider.env))
    agent_environ(repo, env)
    return env


def _watch(config: Config, worktree: Path) -> int | None:
    """Start ``backup watch`` on the agent's worktree for the call (``workflow.watch_agents``);
    the watcher's pid when this call started it. A watcher that cannot start costs the call
    nothing but that protection (it is said once on stderr)."""
    if not config.get("workflow.watch_agents"):
        return None
    from ossa_hooks.worktree import safety

    try:
        return safety.watch_agent_worktree(
            worktree, idle_minutes=float(config.get("backup.watch.idle_minutes")))
    except (OSError, OssaError) as e:
        import sys

        print(f"ossa-hooks: no file watcher for {worktree}: {e}", file=sys.stderr)
        return None


def _unwatch(pid: int | None) -> None:
    """Stop the watcher this call started (its last debounced snapshot is taken on SIGTERM's
    way out only if it was due; the workflow commits the agent's work next anyway)."""
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    with contextlib.suppress(OSError):  # ChildProcessError once it is reaped
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)


def call(
    repo: RepoPaths,
    config: Config,
    task: budget.TaskRef,
    spec: AgentSpec,
    agent_id: str,
    prompt: str,
    *,
    worktree: Path,
    phase: str,
    workflow: int | None = None,
    compact: Callable[[int], str] | None = None,
) -> CallResult:
    """One budgeted agent call: check the budget (the prompt plus the answer expected), run,
    record the usage and the exchange, check the outcome and the budget again.

    A prompt too large for what is left is first made smaller by ``compact(tokens)`` when the
    caller can. Raises ``BudgetExceeded`` (before the call when it cannot fit, after it when it
    overran) and ``OssaError(code=1)`` when the program is missing, exits non-zero, reports an
    error, was denied tool calls, is terminated or times out (the usage is recorded in every
    case the program ran).
    """
    from ossa_hooks import trust
    from ossa_hooks.agents.specs import commands_to_trust
    from ossa_hooks.agents.specs import trust_kind

    # A spec is a file in the repository: what it runs needs the user's approval once.
    trust.require_trusted(repo, trust_kind(spec), commands_to_trust(spec),
                          source=str(spec.path) if spec.path else None)
    encoding_name = str(config.get("budget.encoding"))
    prompt_tokens = budget.count_tokens(prompt, encoding_name)
    expected = budget.expected_output(repo, task, spec.name,
                                      int(config.get("budget.expected_output")))
    left = budget.room_left(repo, task, spec.name)
    if compact is not None and left is not None and prompt_tokens + expected > left:
        prompt = compact(max(left - expected, 0))
        prompt_tokens = budget.count_tokens(prompt, encoding_name)
    budget.check_before(repo, task, spec.name, prompt_tokens, expected)
    argv, stdin = providers.argv_for(spec, prompt, providers.Caps(
        max_turns=spec.provider.max_turns, max_cost_usd=spec.provider.max_cost_usd))
    argv = sandbox.wrap(argv, spec.sandbox, worktree, repo)
    env = agent_environment(repo, spec, agent_id, task, worktree, phase, workflow)
    log_path = record.log_path(repo, task.branch, spec.name)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    shown = [a if len(a) < 200 else a[:60] + "…" for a in argv]
    with log_path.open("a", encoding="utf-8") as f:
        f.write(f"=== {stamp} {agent_id} {phase}: {shlex.join(shown)}\n")

    def note(kind: str, text: str, detail: Mapping[str, object] | None = None) -> None:
        record.add(repo, branch=task.branch, task=task.name, workflow=workflow,
                   agent=spec.name, phase=phase, kind=kind, text=text, detail=detail)

    note("prompt", prompt, {"tokens": prompt_tokens, "agent_id": agent_id, "argv": shown,
                            "log": str(log_path)})
    timeout = spec.provider.timeout or float(config.get("workflow.agent_timeout"))
    watcher = _watch(config, worktree)
    try:
        code, stdout, timed_out, seconds = run_program(
            argv, stdin, cwd=worktree, env=env, log_path=log_path, timeout=timeout,
            on_start=lambda pid: registry.update(repo, agent_id, status="running", pid=pid,
                                                 phase=phase),
        )
    except OssaError as e:
        registry.update(repo, agent_id, status="failed", pid=None, last_exit=127)
        note("error", e.message)
        raise OssaError(f"agent {spec.name} ({spec.provider.type}): {e.message}; install it or "
                        f"change the provider in {spec.path or 'its spec'}", code=1) from None
    except BaseException as e:
        registry.update(repo, agent_id, status="interrupted", pid=None)
        what = e.args[0] if isinstance(e, Interrupted) else "SIGINT"
        note("interrupted", f"the runner got {what}; the agent's process group was ended")
        raise
    finally:
        _unwatch(watcher)
    rep = providers.parse_output(spec, stdout)
    if rep.usage is not None:
        usage = budget.Usage(rep.usage["prompt"], rep.usage["output"],
                             f"provider:{spec.provider.type}", cost_usd=rep.cost_usd)
    else:
        usage = budget.Usage(prompt_tokens, budget.count_tokens(stdout, encoding_name),
                             f"tiktoken:{encoding_name}", cost_usd=rep.cost_usd)
    budget.record(repo, task, agent=spec.name, agent_type=spec.type, phase=phase, usage=usage,
                  workflow=workflow, exit_code=code, seconds=seconds)
    terminated = registry.get(repo, agent_id).status == "terminated"
    failure = _failure(spec, rep, code, timed_out, timeout, terminated, agent_id, stdout,
                       log_path)
    status = "terminated" if terminated else ("failed" if failure else "done")
    registry.finish(repo, agent_id, status, code)
    note("error" if failure else "answer",
         rep.text if not failure else f"{failure}\n\n{rep.text}".strip(),
         {"prompt_tokens": usage.prompt, "output_tokens": usage.output, "source": usage.source,
          "cost_usd": usage.cost_usd, "exit_code": code, "seconds": round(seconds, 2),
          "denials": list(rep.denials), "turns": rep.turns, "log": str(log_path)})
    if failure:
        raise OssaError(failure, code=1)
    try:
        budget.check_after(repo, task, spec.name)
    except budget.BudgetExceeded as e:
        e.output = rep.text
        raise
    return CallResult(agent_id, rep.text, usage, code, seconds, log_path, rep)


def _failure(spec: AgentSpec, rep: providers.Report, code: int, timed_out: bool, timeout: float,
             terminated: bool, agent_id: str, stdout: str, log_path: Path) -> str | None:
    """Why the call failed, or None: every way an agent can fail to do its job is one."""
    if terminated:
        return f"agent {agent_id} was terminated"
    if timed_out:
        return (f"agent {spec.name} timed out after {timeout:g} s (its process group was "
                f"killed; log: {log_path})")
    if rep.denials:
        shown = ", ".join(rep.denials[:5]) + (" …" if len(rep.denials) > 5 else "")
        return (f"agent {spec.name} was denied {len(rep.denials)} tool call(s): {shown} "
                f"(allow them in its spec: provider.allowed_tools / permission_mode; "
                f"log: {log_path})")
    if code != 0 or rep.error:
        detail = rep.error or _last_line(stdout) or _last_line(_tail(log_path))
        return (f"agent {spec.name} " + (f"exited {code}" if code != 0 else "reported an error")
                + (f": {detail}" if detail else "") + f" (log: {log_path})")
    return None


def _last_line(text: str, width: int = 200) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if len(lines[-1]) <= width else lines[-1][: width - 1] + "…"


def _tail(path: Path, size: int = 4096) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def ensure_task(
    repo: RepoPaths, config: Config, worktree: Path, specs: Mapping[str, AgentSpec]
) -> budget.TaskRef:
    """The worktree's task, registered in the ledger with its budgets (task: ``.env`` or
    ``budget.task``; agents: their specs, else ``budget.agents``)."""
    task = budget.task_of(worktree)
    total = task.budget if task.budget is not None else int(config.get("budget.task"))
    budget.register_task(repo, task, total, budgets_of(specs, config))
    return task


def run_message(repo: RepoPaths, config: Config, agent_id: str, message: str) -> CallResult:
    """``ossa agents run ID --message TEXT``: one call of a spawned agent, outside the loop."""
    rec = registry.refresh(repo, registry.get(repo, agent_id))
    if rec.status == "running":
        raise OssaError(f"agent {agent_id} is busy (pid {rec.pid}); wait, or "
                        f"`ossa agents terminate {agent_id}`")
    spec = load_spec(Path(rec.spec))
    worktree = Path(rec.worktree)
    specs = load_workspace_specs(worktree)
    specs[spec.name] = spec
    task = ensure_task(repo, config, worktree, specs)
    with trapped():
        return call(repo, config, task, spec, agent_id, message, worktree=worktree,
                    phase="adhoc", workflow=rec.workflow)
