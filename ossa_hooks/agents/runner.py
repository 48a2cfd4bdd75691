"""Agent specs (``.agents-workspace/agents/NAME.yaml``), the providers that launch real coding-agent
programs, the registry of spawned agents, and one budgeted agent call.

Every provider runs its program as a child in its own process group, in the task worktree, with
the prompt on stdin (or as an argument), so ``terminate`` can end it with everything it started.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossa_hooks import git
from ossa_hooks import identity
from ossa_hooks import pids
from ossa_hooks import store
from ossa_hooks.agents import budget as budget
from ossa_hooks.config import Config
from ossa_hooks.config import ListOf
from ossa_hooks.config import MapOf
from ossa_hooks.config import Obj
from ossa_hooks.config import Scalar
from ossa_hooks.config import fail_at
from ossa_hooks.config import parse_with_lines
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths

AGENT_TYPES = ("researcher", "coder", "reviewer")
WORKSPACE = ".agents-workspace"

# --- providers -----------------------------------------------------------------------------

PROMPT = "{prompt}"


@dataclass(frozen=True, slots=True)
class Preset:
    """How to launch one kind of agent program: argv (``{prompt}`` puts the prompt in an argument,
    otherwise it goes to stdin), where a spec's model option and extra ``args`` go (after the
    first ``head`` words: the program and its sub-command), how to read its output, and how to
    read the error it reports."""

    argv: tuple[str, ...]
    head: int
    model_flag: str | None
    parse: Callable[[str], tuple[str, dict[str, int] | None]]
    error: Callable[[str], str | None]
    label: str


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _int(d: Mapping[str, Any], *keys: str) -> int:
    return sum(int(d.get(k) or 0) for k in keys)


def parse_claude(stdout: str) -> tuple[str, dict[str, int] | None]:
    """``claude -p --output-format json``: one object with ``result`` and ``usage``.

    Prompt tokens are everything the model read: new input plus cache writes and cache reads.
    """
    doc = _json_or_none(stdout.strip())
    if not isinstance(doc, dict):
        return parse_any(stdout)
    text = str(doc.get("result") or "")
    u = doc.get("usage")
    if not isinstance(u, dict):
        return text, None
    return text, {
        "prompt": _int(u, "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"),
        "output": _int(u, "output_tokens"),
    }


def parse_codex(stdout: str) -> tuple[str, dict[str, int] | None]:
    """``codex exec --json``: JSONL events; the agent's messages in ``item.completed``, usage in
    ``turn.completed`` (``input_tokens`` already includes the cached ones)."""
    texts: list[str] = []
    prompt = output = 0
    seen = False
    for line in stdout.splitlines():
        ev = _json_or_none(line) if line.startswith("{") else None
        if not isinstance(ev, dict):
            continue
        item = ev.get("item")
        if ev.get("type") == "item.completed" and isinstance(item, dict):
            if item.get("type") in ("agent_message", "assistant_message") and item.get("text"):
                texts.append(str(item["text"]))
        if ev.get("type") == "turn.completed" and isinstance(ev.get("usage"), dict):
            seen = True
            prompt += _int(ev["usage"], "input_tokens")
            output += _int(ev["usage"], "output_tokens")
    if not seen and not texts:
        return parse_any(stdout)
    return "\n\n".join(texts), ({"prompt": prompt, "output": output} if seen else None)


def parse_any(stdout: str) -> tuple[str, dict[str, int] | None]:
    """Any program: a last line ``{"usage": {...}}`` (input/prompt and output/completion tokens)
    is its usage report; the rest is its output."""
    lines = stdout.rstrip("\n").splitlines()
    if lines and lines[-1].lstrip().startswith("{"):
        doc = _json_or_none(lines[-1])
        if isinstance(doc, dict) and isinstance(doc.get("usage"), dict):
            u = doc["usage"]
            return "\n".join(lines[:-1]), {
                "prompt": _int(u, "input_tokens", "prompt_tokens", "cache_read_input_tokens",
                               "cache_creation_input_tokens"),
                "output": _int(u, "output_tokens", "completion_tokens"),
            }
    return stdout, None


def error_claude(stdout: str) -> str | None:
    """Claude Code tells what went wrong in ``result`` with ``is_error: true`` (not logged in…)."""
    doc = _json_or_none(stdout.strip())
    if isinstance(doc, dict) and doc.get("is_error"):
        return str(doc.get("result") or doc.get("subtype") or "error")
    return None


def error_codex(stdout: str) -> str | None:
    """Codex's ``turn.failed`` (or last ``error``) event."""
    found = None
    for line in stdout.splitlines():
        ev = _json_or_none(line) if line.startswith("{") else None
        if not isinstance(ev, dict):
            continue
        if ev.get("type") == "turn.failed":
            err = ev.get("error")
            return str(err.get("message") if isinstance(err, dict) else err)
        if ev.get("type") == "error" and ev.get("message"):
            found = str(ev["message"])
    return found


def error_none(stdout: str) -> str | None:
    return None


PRESETS: Mapping[str, Preset] = {
    "claude-code": Preset(("claude", "-p", "--output-format", "json"), 1, "--model",
                          parse_claude, error_claude, "Claude Code"),
    "codex": Preset(("codex", "exec", "--json", "-"), 2, "--model", parse_codex, error_codex,
                    "Codex CLI"),
    "aider": Preset(("aider", "--yes", "--message", PROMPT), 1, "--model", parse_any,
                    error_none, "Aider"),
}
PROVIDERS = (*PRESETS, "command", "python")

# --- specs ---------------------------------------------------------------------------------

AGENT_SCHEMA = Obj(
    {
        "name": Scalar("str"),
        "type": Scalar("str", choices=AGENT_TYPES),
        "phase": Scalar("str", default=None, nullable=True),
        "role": Scalar("str", default=""),
        "capabilities": ListOf(Scalar("str")),
        "budget": Scalar("int", default=None, nullable=True),
        "prompt": Scalar("str", default=None, nullable=True),
        "provider": Obj(
            {
                "type": Scalar("str", choices=PROVIDERS),
                "command": Scalar("str", default=None, nullable=True),
                "module": Scalar("str", default=None, nullable=True),
                "args": ListOf(Scalar("str")),
                "model": Scalar("str", default=None, nullable=True),
                "input": Scalar("str", default=None, nullable=True, choices=("stdin", "arg")),
                "timeout": Scalar("number", default=None, nullable=True),
                "env": MapOf(Scalar("str")),
            },
            shorthand="type",
        ),
    }
)

_DEFAULT_PHASE = {"researcher": "1_plan", "coder": "2_execute", "reviewer": "3_review"}


@dataclass(frozen=True, slots=True)
class Provider:
    type: str
    command: str | None = None
    module: str | None = None
    args: tuple[str, ...] = ()
    model: str | None = None
    input: str | None = None
    timeout: float | None = None
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    type: str
    phase: str
    role: str
    capabilities: tuple[str, ...]
    budget: int | None
    prompt: str | None
    provider: Provider
    path: Path | None = None


def parse_spec(text: str | bytes, name: str, path: Path | None = None) -> AgentSpec:
    """Validate an agent spec; every problem is one ``FILE:LINE: key: problem`` line."""
    data, lines = parse_with_lines(text, name, AGENT_SCHEMA)
    prov = data["provider"]
    kind = prov["type"]
    if kind == "command" and not (prov["command"] or "").strip():
        raise fail_at(name, lines, "provider.command",
                      "missing: provider 'command' needs the program to run (argv template)")
    if kind == "command":
        try:
            shlex.split(prov["command"])
        except ValueError as e:
            raise fail_at(name, lines, "provider.command", f"cannot be split like a shell: {e}"
                          ) from None
    if kind == "python" and not re.fullmatch(r"[\w.]+:[\w.]+", prov["module"] or ""):
        raise fail_at(name, lines, "provider.module",
                      "provider 'python' needs module: package.module:function")
    if data["budget"] is not None and data["budget"] < 0:
        raise fail_at(name, lines, "budget", "must be 0 or more tokens")
    if prov["timeout"] is not None and prov["timeout"] <= 0:
        raise fail_at(name, lines, "provider.timeout", "must be more than 0 seconds")
    return AgentSpec(
        name=data["name"],
        type=data["type"],
        phase=data["phase"] or _DEFAULT_PHASE[data["type"]],
        role=data["role"],
        capabilities=tuple(data["capabilities"]),
        budget=data["budget"],
        prompt=data["prompt"],
        provider=Provider(kind, prov["command"], prov["module"], tuple(prov["args"]),
                          prov["model"], prov["input"], prov["timeout"],
                          tuple(sorted(prov["env"].items()))),
        path=path,
    )


def load_spec(path: Path) -> AgentSpec:
    try:
        text = path.read_bytes()
    except OSError as e:
        raise OssaError(f"{path}: cannot read the agent spec: {e.strerror}") from None
    return parse_spec(text, str(path), path)


def workspace(worktree: Path) -> Path:
    return worktree / WORKSPACE


def spec_path(worktree: Path, name: str) -> Path:
    return workspace(worktree) / "agents" / f"{name}.yaml"


def argv_for(spec: AgentSpec, prompt: str) -> tuple[list[str], bytes | None]:
    """The program to run and what goes to its stdin (``None``: the prompt is an argument)."""
    p = spec.provider
    if p.type == "python":
        base = [sys.executable, "-m", "ossa_hooks.agents.pyagent", str(p.module)]
    elif p.type == "command":
        base = shlex.split(p.command or "")
    else:
        base = list(PRESETS[p.type].argv)
    extra = list(p.args)
    if p.model and p.type in PRESETS and PRESETS[p.type].model_flag:
        extra[:0] = [str(PRESETS[p.type].model_flag), p.model]
    head = PRESETS[p.type].head if p.type in PRESETS else len(base)
    base[head:head] = extra
    as_arg = any(PROMPT in a for a in base) or p.input == "arg"
    if as_arg:
        if not any(PROMPT in a for a in base):
            base.append(PROMPT)
        return [a.replace(PROMPT, prompt) for a in base], None
    return base, prompt.encode("utf-8")


def parse_output(spec: AgentSpec, stdout: str) -> tuple[str, dict[str, int] | None]:
    if spec.provider.type in PRESETS:
        return PRESETS[spec.provider.type].parse(stdout)
    return parse_any(stdout)


def render_prompt(template: str, context: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders that ``context`` knows; other braces (code) stay as written."""
    return re.sub(r"\{(\w+)\}", lambda m: context.get(m.group(1), m.group(0)), template)


# --- the registry of spawned agents ------------------------------------------------------------

DB_NAME = "agents.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    spec TEXT NOT NULL,
    worktree TEXT NOT NULL,
    workflow INTEGER,
    status TEXT NOT NULL,
    pid INTEGER,
    phase TEXT,
    calls INTEGER NOT NULL DEFAULT 0,
    last_exit INTEGER,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    name: str
    type: str
    spec: str
    worktree: str
    workflow: int | None
    status: str
    pid: int | None
    phase: str | None
    calls: int
    last_exit: int | None
    updated: float

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _db(repo: RepoPaths) -> Path:
    return repo.state_dir / DB_NAME


def _record(row: Any) -> AgentRecord:
    return AgentRecord(row["id"], row["name"], row["type"], row["spec"], row["worktree"],
                       row["workflow"], row["status"], row["pid"], row["phase"], row["calls"],
                       row["last_exit"], row["updated"])


def spawn(repo: RepoPaths, spec: AgentSpec, worktree: Path, workflow: int | None = None) -> str:
    """Register an agent instance of ``spec`` working in ``worktree``; returns its id."""
    now = time.time()
    with store.connect(_db(repo), _SCHEMA) as con:
        con.execute("BEGIN IMMEDIATE")
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM agents").fetchone()[0]
        agent_id = f"{spec.name}-{seq}"
        con.execute(
            "INSERT INTO agents (id, seq, name, type, spec, worktree, workflow, status, created,"
            " updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'idle', ?, ?)",
            (agent_id, seq, spec.name, spec.type, str(spec.path or ""), str(worktree), workflow,
             now, now),
        )
        con.execute("COMMIT")
    return agent_id


def get(repo: RepoPaths, agent_id: str) -> AgentRecord:
    with store.connect(_db(repo), _SCHEMA) as con:
        row = con.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
    if row is None:
        raise OssaError(f"no agent '{agent_id}' (see `ossa agents list`)")
    return _record(row)


def listing(repo: RepoPaths, everything: bool = True) -> list[AgentRecord]:
    if not _db(repo).exists():
        return []
    with store.connect(_db(repo), _SCHEMA) as con:
        rows = con.execute("SELECT * FROM agents ORDER BY seq").fetchall()
    records = [_refresh(repo, _record(r)) for r in rows]
    return records if everything else [r for r in records if r.status == "running"]


def _refresh(repo: RepoPaths, rec: AgentRecord) -> AgentRecord:
    """A 'running' agent whose process is gone (its runner was killed) is shown as 'lost'."""
    if rec.status == "running" and rec.pid and not pids.alive(rec.pid):
        _update(repo, rec.id, status="lost", pid=None)
        return get(repo, rec.id)
    return rec


def _update(repo: RepoPaths, agent_id: str, **fields: Any) -> None:
    fields["updated"] = time.time()
    cols = ", ".join(f"{k} = ?" for k in fields)
    with store.connect(_db(repo), _SCHEMA) as con:
        con.execute(f"UPDATE agents SET {cols} WHERE id = ?",  # noqa: S608 - fixed column names
                    (*fields.values(), agent_id))




def terminate(repo: RepoPaths, agent_id: str, grace: float = 5.0) -> str:
    """End a running agent's whole process group (TERM, then KILL after ``grace`` seconds)."""
    rec = get(repo, agent_id)
    if rec.status != "running" or not rec.pid:
        raise OssaError(f"agent {agent_id} is not running (status: {rec.status})", code=1)
    _update(repo, agent_id, status="terminated")
    pgid = rec.pid  # the agent leads its own session, so its pid is its process group id
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return f"agent {agent_id} had already ended"
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pids.group_alive(pgid):
        time.sleep(0.05)
    if pids.group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return f"terminated agent {agent_id} (process group {pgid}, killed after {grace:g} s)"
    return f"terminated agent {agent_id} (process group {pgid})"


# --- running ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunResult:
    text: str
    usage: dict[str, int] | None
    exit_code: int
    seconds: float
    terminated: bool = False
    timed_out: bool = False


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

    Returns (exit code, stdout, timed out, seconds). Ctrl-C or a timeout kill the whole group.
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
        if on_start is not None:
            on_start(proc.pid)
        chunks: list[bytes] = []
        assert proc.stdout is not None

        fd = proc.stdout.fileno()

        def pump() -> None:
            for chunk in iter(lambda: os.read(fd, 65536), b""):
                chunks.append(chunk)
                log.write(chunk)
                log.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        try:
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
                _kill_group(proc.pid)
                proc.wait()
        except BaseException:
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            reader.join(timeout=5)
    stdout = b"".join(chunks).decode("utf-8", "replace")
    return proc.returncode, stdout, timed_out, time.monotonic() - start


def _kill_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and pids.group_alive(pgid):
            time.sleep(0.05)
        if not pids.group_alive(pgid):
            return


@dataclass(frozen=True, slots=True)
class CallResult:
    agent_id: str
    text: str
    usage: budget.Usage
    exit_code: int
    seconds: float
    log: Path


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
) -> CallResult:
    """One budgeted agent call: check the budget, run, record the usage, check again.

    Raises ``BudgetExceeded`` (before the call when its prompt alone would overrun, after it when
    it did) and ``OssaError(code=1)`` when the program is missing, fails, is terminated or
    times out (the usage is recorded in every case the program ran).
    """
    encoding_name = str(config.get("budget.encoding"))
    prompt_tokens = budget.count_tokens(prompt, encoding_name)
    budget.check_before(repo, task, spec.name, prompt_tokens)
    argv, stdin = argv_for(spec, prompt)
    env = git.no_git_env()
    who = identity.Identity(agent_id, name=spec.name, agent_type=spec.type, task=task.name,
                            branch=task.branch, worktree=str(worktree),
                            workflow_id="" if workflow is None else str(workflow))
    env.update(who.environ())
    env.update({"OSSA_PHASE": phase, "OSSA_WORKSPACE": str(workspace(worktree))})
    env.update(dict(spec.provider.env))
    log_path = workspace(worktree) / "logs" / f"agent-{spec.name}.log"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as f:
        f.write(f"=== {stamp} {agent_id} {phase}: {shlex.join(argv[:8])}"
                f"{' …' if len(argv) > 8 else ''}\n")
    timeout = spec.provider.timeout or float(config.get("workflow.agent_timeout"))
    try:
        code, stdout, timed_out, seconds = run_program(
            argv, stdin, cwd=worktree, env=env, log_path=log_path, timeout=timeout,
            on_start=lambda pid: _update(repo, agent_id, status="running", pid=pid, phase=phase),
        )
    except OssaError as e:
        _update(repo, agent_id, status="failed", pid=None, last_exit=127)
        raise OssaError(f"agent {spec.name} ({spec.provider.type}): {e.message}; install it or "
                        f"change the provider in {spec.path or 'its spec'}", code=1) from None
    except BaseException:
        _update(repo, agent_id, status="interrupted", pid=None)
        raise
    text, reported = parse_output(spec, stdout)
    if reported is not None:
        usage = budget.Usage(reported["prompt"], reported["output"],
                             f"provider:{spec.provider.type}")
    else:
        usage = budget.Usage(prompt_tokens, budget.count_tokens(stdout, encoding_name),
                             f"tiktoken:{encoding_name}")
    budget.record(repo, task, agent=spec.name, agent_type=spec.type, phase=phase, usage=usage,
                  workflow=workflow, exit_code=code, seconds=seconds)
    terminated = get(repo, agent_id).status == "terminated"
    status = "terminated" if terminated else ("done" if code == 0 and not timed_out else "failed")
    with store.connect(_db(repo), _SCHEMA) as con:
        con.execute("UPDATE agents SET status = ?, pid = NULL, last_exit = ?, calls = calls + 1,"
                    " updated = ? WHERE id = ?", (status, code, time.time(), agent_id))
    if terminated:
        raise OssaError(f"agent {agent_id} was terminated", code=1)
    if timed_out:
        raise OssaError(f"agent {spec.name} timed out after {timeout:g} s (its process group was "
                        f"killed; log: {log_path})", code=1)
    failure = PRESETS[spec.provider.type].error(stdout) if spec.provider.type in PRESETS else None
    if code != 0 or failure:
        detail = failure or _last_line(stdout) or _last_line(_tail(log_path))
        raise OssaError(f"agent {spec.name} exited {code}" + (f": {detail}" if detail else "")
                        + f" (log: {log_path})", code=1)
    try:
        budget.check_after(repo, task, spec.name)
    except budget.BudgetExceeded as e:
        e.output = text
        raise
    return CallResult(agent_id, text, usage, code, seconds, log_path)


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


def budgets_of(specs: Mapping[str, AgentSpec], config: Config) -> dict[str, int]:
    """Agent name -> token budget: the spec's, else ``budget.agents`` of the config."""
    configured: Mapping[str, int] = config.get("budget.agents")
    result = {}
    for name, spec in specs.items():
        b = spec.budget
        if b is None:
            b = configured.get(name, configured.get(spec.type))
        if b is not None:
            result[name] = int(b)
    return result


def load_workspace_specs(worktree: Path) -> dict[str, AgentSpec]:
    """Every spec in ``.agents-workspace/agents/`` by agent name."""
    folder = workspace(worktree) / "agents"
    specs: dict[str, AgentSpec] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        spec = load_spec(path)
        specs[spec.name] = spec
    return specs


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
    rec = _refresh(repo, get(repo, agent_id))
    if rec.status == "running":
        raise OssaError(f"agent {agent_id} is busy (pid {rec.pid}); wait, or "
                        f"`ossa agents terminate {agent_id}`")
    spec = load_spec(Path(rec.spec))
    worktree = Path(rec.worktree)
    specs = load_workspace_specs(worktree)
    specs[spec.name] = spec
    task = ensure_task(repo, config, worktree, specs)
    return call(repo, config, task, spec, agent_id, message, worktree=worktree, phase="adhoc",
                workflow=rec.workflow)
