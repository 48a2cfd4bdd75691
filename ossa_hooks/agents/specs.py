"""Agent specs: ``.agents-workspace/agents/NAME.yaml`` (or an OSSA ``kind: Agent`` manifest,
see :mod:`ossa_hooks.agents.manifest`), validated with file:line errors, and the budgets they
give each agent."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ossa_hooks.config import Config
from ossa_hooks.config import ListOf
from ossa_hooks.config import MapOf
from ossa_hooks.config import Obj
from ossa_hooks.config import Scalar
from ossa_hooks.config import fail_at
from ossa_hooks.config import parse_with_lines
from ossa_hooks.errors import OssaError

AGENT_TYPES = ("researcher", "coder", "reviewer")
WORKSPACE = ".agents-workspace"
# The CLIs ossa-hooks knows how to drive (agents/providers.py), then the generic ones.
PRESET_TYPES = ("claude-code", "codex", "aider")
PROVIDERS = (*PRESET_TYPES, "command", "python")
SANDBOXES = ("none", "bwrap")

AGENT_SCHEMA = Obj(
    {
        "name": Scalar("str"),
        "type": Scalar("str", choices=AGENT_TYPES),
        "phase": Scalar("str", default=None, nullable=True),
        "role": Scalar("str", default=""),
        "capabilities": ListOf(Scalar("str")),
        "budget": Scalar("int", default=None, nullable=True),
        "prompt": Scalar("str", default=None, nullable=True),
        "sandbox": Obj(
            {
                "type": Scalar("str", default="none", choices=SANDBOXES),
                "network": Scalar("bool", default=True),
                "writable": ListOf(Scalar("str")),
            },
            shorthand="type",
        ),
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
                "max_turns": Scalar("int", default=None, nullable=True),
                "max_cost_usd": Scalar("number", default=None, nullable=True),
                "permission_mode": Scalar("str", default=None, nullable=True),
                "allowed_tools": ListOf(Scalar("str")),
                "disallowed_tools": ListOf(Scalar("str")),
            },
            shorthand="type",
        ),
    }
)

DEFAULT_PHASE = {"researcher": "1_plan", "coder": "2_execute", "reviewer": "3_review"}


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
    max_turns: int | None = None
    max_cost_usd: float | None = None
    permission_mode: str | None = None
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sandbox:
    type: str = "none"
    network: bool = True
    writable: tuple[str, ...] = ()


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
    sandbox: Sandbox = Sandbox()
    # Fields of an OSSA manifest that have no meaning here (said when it is loaded).
    ignored: tuple[str, ...] = ()


def parse_spec(text: str | bytes, name: str, path: Path | None = None,
               agent_type: str | None = None) -> AgentSpec:
    """Validate an agent spec (or an OSSA Agent manifest, as an agent of ``agent_type`` when
    given); every problem is one ``FILE:LINE: key: problem`` line."""
    from ossa_hooks.agents import manifest

    if manifest.is_manifest(text):
        return manifest.agent_from_manifest(text, name, path, agent_type)
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
    if prov["max_turns"] is not None and prov["max_turns"] <= 0:
        raise fail_at(name, lines, "provider.max_turns", "must be 1 or more")
    if prov["max_cost_usd"] is not None and prov["max_cost_usd"] <= 0:
        raise fail_at(name, lines, "provider.max_cost_usd", "must be more than 0 dollars")
    sb = data["sandbox"]
    return AgentSpec(
        name=data["name"],
        type=data["type"],
        phase=data["phase"] or DEFAULT_PHASE[data["type"]],
        role=data["role"],
        capabilities=tuple(data["capabilities"]),
        budget=data["budget"],
        prompt=data["prompt"],
        provider=Provider(kind, prov["command"], prov["module"], tuple(prov["args"]),
                          prov["model"], prov["input"], prov["timeout"],
                          tuple(sorted(prov["env"].items())), prov["max_turns"],
                          prov["max_cost_usd"], prov["permission_mode"],
                          tuple(prov["allowed_tools"]), tuple(prov["disallowed_tools"])),
        path=path,
        sandbox=Sandbox(sb["type"], bool(sb["network"]), tuple(sb["writable"])),
    )


def load_spec(path: Path, agent_type: str | None = None) -> AgentSpec:
    try:
        text = path.read_bytes()
    except OSError as e:
        raise OssaError(f"{path}: cannot read the agent spec: {e.strerror}") from None
    return parse_spec(text, str(path), path, agent_type)


def with_args(spec: AgentSpec, extra: tuple[str, ...]) -> AgentSpec:
    """The spec with more CLI arguments for its program (``spawn --agent-arg``)."""
    from dataclasses import replace

    return replace(spec, provider=replace(spec.provider, args=(*spec.provider.args, *extra)))


def workspace(worktree: Path) -> Path:
    return worktree / WORKSPACE


def spec_path(worktree: Path, name: str) -> Path:
    return workspace(worktree) / "agents" / f"{name}.yaml"


def trust_kind(spec: AgentSpec) -> str:
    """What ``ossa-hooks trust`` calls this agent's commands (one approval per agent)."""
    return f"agent commands ({spec.name})"


def commands_to_trust(spec: AgentSpec) -> list[str]:
    """What running ``spec`` would execute that the user must approve: a ``command``
    provider's program, a ``python`` provider's module, and any extra ``args`` given to a
    known CLI. A known CLI with no extra arguments needs no approval."""
    p = spec.provider
    args = " ".join(p.args)
    if p.type == "command":
        return [f"{p.command} {args}".strip()]
    if p.type == "python":
        return [f"python module {p.module} {args}".strip()]
    return [f"{p.type} {args}"] if p.args else []


def load_workspace_specs(worktree: Path) -> dict[str, AgentSpec]:
    """Every spec in ``.agents-workspace/agents/`` by agent name."""
    folder = workspace(worktree) / "agents"
    specs: dict[str, AgentSpec] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        spec = load_spec(path)
        specs[spec.name] = spec
    return specs


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


def render_prompt(template: str, context: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders that ``context`` knows; other braces (code) stay as written."""
    return re.sub(r"\{(\w+)\}", lambda m: context.get(m.group(1), m.group(0)), template)
