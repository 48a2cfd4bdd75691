"""OSSA manifests (Open Standard for Software Agents, ``apiVersion: ossa/v0.x``): an ``Agent``
manifest read as an agent spec, a ``Workflow`` manifest as a loop definition, and an agent spec
written back as an ``Agent`` manifest (``ossa-hooks agents export``).

What maps: ``metadata.name``/``description``, ``spec.role`` (the agent's standing instructions,
put before the prompt template), ``spec.llm.provider``/``model`` (anthropic → claude-code,
openai → codex), ``spec.capabilities`` (their names), ``spec.tools`` whose names are Claude Code
tools (allowed tools), ``spec.constraints.cost.maxTokensPerDay`` (the agent's token budget),
``maxCostPerDay`` (a dollar cap per call for CLIs that take one), ``spec.constraints.performance
.timeoutSeconds`` (the call timeout), and ``extensions.ossa_hooks`` (``type``, ``provider``: any
key of our own spec). Everything else is named in the ``ignored`` list, which the commands print.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.agents.specs import AgentSpec
    from ossa_hooks.agents.workflow import Definition

API = re.compile(r"^ossa/v0\.\d+(\.\d+)?$")
_CLAUDE_TOOLS = {"Read", "Write", "Edit", "MultiEdit", "Glob", "Grep", "LS", "Bash",
                 "NotebookEdit", "TodoWrite", "WebFetch", "WebSearch"}
_EXT_TOOLS = {"file_read": "Read", "file_write": "Write", "file_edit": "Edit",
              "grep_search": "Grep", "glob_search": "Glob", "bash": "Bash", "shell": "Bash"}
_LLM = {"anthropic": "claude-code", "claude": "claude-code", "openai": "codex"}
_TYPE_WORDS = (("review", "reviewer"), ("critic", "reviewer"), ("research", "researcher"),
               ("plan", "researcher"), ("cod", "coder"), ("worker", "coder"),
               ("develop", "coder"), ("fix", "coder"))
_PROMPTS = {
    "researcher": "Task: {task}\n\nRepository map:\n{repo_map}\n\nWhat earlier tasks learned:\n"
                  "{memories}\n\nWrite a short implementation plan in Markdown; change no file.",
    "coder": "Task: {task}\n\nPlan:\n{plan}\n\n{findings}\n\nImplement it in this folder, with "
             "tests. Do not commit.",
    "reviewer": "Task: {task}\n\nThe change (round {round}):\n{diff}\n\nAnswer with one line "
                "VERDICT: approve or VERDICT: request changes, then findings as '- ' lines.",
}


def _load(text: str | bytes) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def is_manifest(text: str | bytes) -> bool:
    doc = _load(text)
    return isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc


def _check(doc: Any, name: str, kind: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise OssaError(f"{name}: not a YAML mapping")
    api = str(doc.get("apiVersion", ""))
    if not API.match(api):
        raise OssaError(f"{name}: apiVersion '{api}' is not an OSSA version this reads "
                        "(ossa/v0.x)")
    if doc.get("kind") != kind:
        raise OssaError(f"{name}: kind '{doc.get('kind')}' where an OSSA {kind} manifest was "
                        "expected")
    if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
        raise OssaError(f"{name}: metadata.name is missing")
    return doc


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _keys(prefix: str, d: Any, used: set[str]) -> list[str]:
    if not isinstance(d, Mapping):
        return []
    return [f"{prefix}{k}" for k in d if f"{prefix}{k}" not in used]


def agent_from_manifest(text: str | bytes, name: str, path: Path | None = None,
                        agent_type: str | None = None) -> AgentSpec:
    """An OSSA ``kind: Agent`` manifest as an agent spec (see the module docstring)."""
    from ossa_hooks.agents.specs import parse_spec

    doc = _check(_load(text), name, "Agent")
    meta, spec = doc["metadata"], doc.get("spec") or {}
    ours = (doc.get("extensions") or {}).get("ossa_hooks") or {}
    used = {"apiVersion", "kind", "metadata", "spec", "extensions",
            "metadata.name", "metadata.description", "metadata.version", "metadata.labels",
            "spec.role", "spec.llm", "spec.capabilities", "spec.tools", "spec.constraints"}
    kind = agent_type or ours.get("type") or _guess_type(doc)
    if kind is None:
        raise OssaError(f"{name}: cannot tell whether agent '{meta['name']}' is a researcher, "
                        "coder or reviewer; say so in extensions.ossa_hooks.type")
    llm = _map(spec.get("llm"))
    provider: dict[str, Any] = {"type": _LLM.get(str(llm.get("provider", "")).lower(),
                                                 "claude-code")}
    if llm.get("model"):
        provider["model"] = str(llm["model"])
    tools = [t.get("name") if isinstance(t, dict) else t for t in spec.get("tools") or []]
    ext_caps = ((doc.get("extensions") or {}).get("claude_code") or {}).get("capabilities") or []
    allowed = [t for t in tools if t in _CLAUDE_TOOLS]
    allowed += [_EXT_TOOLS[c] for c in ext_caps if c in _EXT_TOOLS]
    if allowed and provider["type"] == "claude-code":
        provider["allowed_tools"] = sorted(set(allowed))
    ignored = [f"spec.tools[{t}]" for t in tools if t not in _CLAUDE_TOOLS]
    cons = _map(spec.get("constraints"))
    cost = _map(cons.get("cost"))
    perf = _map(cons.get("performance"))
    if cost.get("maxCostPerDay") and provider["type"] == "claude-code":
        provider["max_cost_usd"] = float(cost["maxCostPerDay"])
    if perf.get("timeoutSeconds"):
        provider["timeout"] = float(perf["timeoutSeconds"])
    provider.update(ours.get("provider") or {})
    budget = ours.get("budget", cost.get("maxTokensPerDay"))
    ignored += [f"spec.constraints.cost.{k}" for k in cost
                if k not in ("maxTokensPerDay", "maxCostPerDay")
                and not (k == "currency" and str(cost[k]).upper() == "USD")]
    ignored += [f"spec.constraints.performance.{k}" for k in perf if k != "timeoutSeconds"]
    ignored += [f"spec.constraints.{k}" for k in cons if k not in ("cost", "performance")]
    ignored += [f"spec.llm.{k}" for k in llm if k not in ("provider", "model")]
    ignored += _keys("", doc, used) + _keys("metadata.", meta, used) + _keys("spec.", spec, used)
    for ext, body in _map(doc.get("extensions")).items():
        if ext == "claude_code" and isinstance(body, dict):
            ignored += [f"extensions.claude_code.{k}" for k in body
                        if k not in ("capabilities", "agent_type")]
        elif ext != "ossa_hooks":
            ignored.append(f"extensions.{ext}")
    role = str(spec.get("role") or meta.get("description") or "").strip()
    caps = [c.get("name") if isinstance(c, dict) else c for c in spec.get("capabilities") or []]
    prompt = ours.get("prompt") or (f"{role}\n\n" if role else "") + _PROMPTS[kind]
    ours_spec = {"name": str(meta["name"]), "type": kind, "role": role[:500],
                 "capabilities": [str(c) for c in caps if c], "prompt": prompt,
                 "provider": provider, "budget": int(budget) if budget else None}
    if "sandbox" in ours:
        ours_spec["sandbox"] = ours["sandbox"]
    import yaml

    result = parse_spec(yaml.safe_dump(ours_spec), name, path)
    from dataclasses import replace

    return replace(result, ignored=tuple(ignored))


def _guess_type(doc: Mapping[str, Any]) -> str | None:
    ext = ((doc.get("extensions") or {}).get("claude_code") or {}).get("agent_type")
    labels = (doc.get("metadata") or {}).get("labels") or {}
    for hint in (ext, labels.get("role") if isinstance(labels, dict) else None,
                 doc["metadata"]["name"]):
        for word, kind in _TYPE_WORDS:
            if hint and word in str(hint).lower():
                return kind
    return None


def definition_from_manifest(text: str | bytes, path: Path) -> Definition:
    """An OSSA ``kind: Workflow`` manifest as the loop: its ``kind: Agent`` steps (``ref`` to
    an Agent manifest) become the agent phases by the agent's type; the judge, learn and govern
    phases follow; other steps are named as ignored (the loop has its own order)."""
    from ossa_hooks.agents.workflow import AGENT_PHASES
    from ossa_hooks.agents.workflow import Definition

    name = str(path)
    doc = _check(_load(text), name, "Workflow")
    meta, spec = doc["metadata"], doc.get("spec") or {}
    ours = (doc.get("extensions") or {}).get("ossa_hooks") or {}
    by_phase: dict[str, str] = {}
    ignored: list[str] = []
    refs: dict[str, Path] = {}
    for step in spec.get("steps") or []:
        if not isinstance(step, dict):
            continue
        sid = step.get("id") or step.get("name") or "?"
        ref = step.get("ref")
        if step.get("kind") != "Agent" or not ref:
            ignored.append(f"spec.steps[{sid}] (kind {step.get('kind')})")
            continue
        ref_path = (path.parent / str(ref)).resolve()
        if not ref_path.exists():
            raise OssaError(f"{name}: step {sid}: {ref} not found ({ref_path})")
        agent = agent_from_manifest(ref_path.read_bytes(), str(ref_path), ref_path)
        phase = next(p for p, t in AGENT_PHASES.items() if t == agent.type)
        if phase in by_phase:
            ignored.append(f"spec.steps[{sid}] (a second {agent.type})")
            continue
        by_phase[phase] = agent.name
        refs[agent.name] = ref_path
    phases: list[tuple[str, str | None]] = [(p, by_phase[p]) for p in AGENT_PHASES
                                            if p in by_phase]
    phases += [(p, None) for p in ("4_judge", "5_learn", "6_govern")]
    ignored += [f"spec.{k}" for k in spec if k != "steps"]
    ignored += [k for k in doc if k not in ("apiVersion", "kind", "metadata", "spec",
                                            "extensions")]
    task = str(ours.get("task") or meta.get("description") or meta["name"]).strip()
    definition = Definition(str(meta["name"]), task, ours.get("max_review_rounds"),
                            ours.get("budget"), tuple(phases),
                            {"review_approved": "3_review" in by_phase, "judge_passed": True,
                             "within_budget": True}, path, tuple(ignored),
                            tuple(refs.items()))
    return definition


def agents_of(definition: Definition) -> dict[str, AgentSpec]:
    """The agent specs a Workflow manifest's steps refer to (none for our own definitions)."""
    from ossa_hooks.agents.specs import load_spec

    return {n: load_spec(p) for n, p in definition.agents}


def export(spec: AgentSpec) -> dict[str, Any]:
    """An agent spec as an OSSA v0.5 ``kind: Agent`` manifest (what does not map goes under
    ``extensions.ossa_hooks``, so it reads back the same)."""
    p = spec.provider
    llm_provider = {"claude-code": "anthropic", "codex": "openai"}.get(p.type)
    doc: dict[str, Any] = {
        "apiVersion": "ossa/v0.5",
        "kind": "Agent",
        "metadata": {"name": spec.name, "version": "1.0.0",
                     "description": spec.role or f"the {spec.type} of the ossa-hooks loop"},
        "spec": {"role": spec.role or f"You are the {spec.type} of a team of coding agents.",
                 "capabilities": list(spec.capabilities)},
    }
    if llm_provider:
        doc["spec"]["llm"] = {"provider": llm_provider, **({"model": p.model} if p.model else {})}
    if p.allowed_tools:
        doc["spec"]["tools"] = [{"type": "function", "name": t} for t in p.allowed_tools]
    cons: dict[str, Any] = {}
    if spec.budget is not None:
        cons.setdefault("cost", {})["maxTokensPerDay"] = spec.budget
    if p.max_cost_usd is not None:
        cons.setdefault("cost", {})["maxCostPerDay"] = p.max_cost_usd
        cons["cost"]["currency"] = "USD"
    if p.timeout is not None:
        cons["performance"] = {"timeoutSeconds": p.timeout}
    if cons:
        doc["spec"]["constraints"] = cons
    provider = {k: v for k, v in {
        "type": p.type, "command": p.command, "module": p.module, "args": list(p.args),
        "input": p.input, "env": dict(p.env), "max_turns": p.max_turns,
        "permission_mode": p.permission_mode, "disallowed_tools": list(p.disallowed_tools),
    }.items() if v not in (None, [], {})}
    ours: dict[str, Any] = {"type": spec.type, "provider": provider}
    if spec.prompt:
        ours["prompt"] = spec.prompt
    if spec.sandbox.type != "none":
        ours["sandbox"] = {"type": spec.sandbox.type, "network": spec.sandbox.network,
                           "writable": list(spec.sandbox.writable)}
    doc["extensions"] = {"ossa_hooks": ours}
    return doc


def dump(doc: dict[str, Any]) -> str:
    """YAML with multi-line strings (prompts, roles) as literal blocks, as people write them."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True)
