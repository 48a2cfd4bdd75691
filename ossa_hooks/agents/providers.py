"""The programs agents run, each driven from its documented non-interactive mode, and how their
output is read: the answer, the usage and cost the program itself reports, the tool calls it
was denied, and the error it reports.

A provider is a row in :data:`PRESETS`: a function that builds the command line for a role and a
parser of its output. Claude Code (``claude -p``), Codex (``codex exec --json``) and aider
(``aider --message``) are known; ``command`` runs any program (prompt on stdin or as ``{prompt}``),
``python`` a Python callable (``agents/pyagent.py``).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from ossa_hooks.agents.specs import AgentSpec

PROMPT = "{prompt}"


@dataclass(frozen=True, slots=True)
class Report:
    """What an agent program said about its own call."""

    text: str
    usage: Mapping[str, int] | None = None  # {"prompt": N, "output": M}, as the program counted
    cost_usd: float | None = None
    denials: tuple[str, ...] = ()  # tool calls the program's permission system refused
    error: str | None = None  # an error result (not logged in, max turns, budget, API error)
    turns: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Caps:
    """Per-call limits passed to the programs that accept them."""

    max_turns: int | None = None
    max_cost_usd: float | None = None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _int(d: Mapping[str, Any], *keys: str) -> int:
    total = 0
    for k in keys:
        try:
            total += int(d.get(k) or 0)
        except (TypeError, ValueError):
            continue
    return total


def _json_lines(stdout: str) -> Iterator[dict[str, Any]]:
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            ev = _json(line)
            if isinstance(ev, dict):
                yield ev


# --- Claude Code -----------------------------------------------------------------------------

# Tools by role: readers read and look around; the coder edits and runs commands in its worktree
# but does not commit, push or go on the web (the loop commits through the hooks).
_READ_TOOLS = ("Read", "Glob", "Grep", "LS", "Bash(git diff:*)", "Bash(git log:*)",
               "Bash(git show:*)", "Bash(git status:*)")
CLAUDE_TOOLS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "researcher": (_READ_TOOLS, ("Edit", "Write", "MultiEdit", "NotebookEdit", "WebFetch"),
                   "dontAsk"),
    "reviewer": (_READ_TOOLS, ("Edit", "Write", "MultiEdit", "NotebookEdit", "WebFetch"),
                 "dontAsk"),
    "coder": (("Read", "Glob", "Grep", "LS", "Edit", "Write", "MultiEdit", "NotebookEdit",
               "TodoWrite", "Bash"),
              ("Bash(git commit:*)", "Bash(git push:*)", "Bash(git reset:*)",
               "Bash(git checkout:*)", "WebFetch"), "acceptEdits"),
}


def argv_claude(spec: AgentSpec, caps: Caps) -> list[str]:
    """``claude -p --output-format json`` with a permission mode and tools for the role, the
    turn and dollar caps, the model and the spec's own ``args``; the prompt goes to stdin."""
    p = spec.provider
    allowed, denied, mode = CLAUDE_TOOLS[spec.type]
    argv = ["claude", "-p", "--output-format", "json",
            "--permission-mode", p.permission_mode or mode,
            "--allowedTools", ",".join(p.allowed_tools or allowed),
            "--disallowedTools", ",".join(p.disallowed_tools or denied)]
    if p.model:
        argv += ["--model", p.model]
    turns = p.max_turns or caps.max_turns
    if turns:
        argv += ["--max-turns", str(turns)]
    usd = min(x for x in (p.max_cost_usd, caps.max_cost_usd, float("inf")) if x is not None)
    if usd != float("inf"):
        argv += ["--max-budget-usd", f"{usd:.4f}".rstrip("0").rstrip(".")]
    return argv + list(p.args)


_CLAUDE_ERRORS = {
    "error_max_turns": "stopped at its turn limit (--max-turns) before finishing",
    "error_max_budget_usd": "stopped at its dollar cap (--max-budget-usd) before finishing",
    "error_during_execution": "failed during execution",
}


def parse_claude(stdout: str) -> Report:
    """Claude Code's result in every shape it prints: one JSON object (``--output-format
    json``), a JSON array of messages (``json`` with ``--verbose``), or one message per line
    (``stream-json``). The ``result`` message carries the answer, ``usage``/``modelUsage``,
    ``total_cost_usd``, ``num_turns``, ``permission_denials`` and ``is_error``/``subtype``."""
    doc = _json(stdout.strip())
    if isinstance(doc, dict):
        messages = [doc]
    elif isinstance(doc, list):
        messages = [m for m in doc if isinstance(m, dict)]
    else:
        messages = list(_json_lines(stdout))
    result = next((m for m in reversed(messages) if m.get("type") == "result"), None)
    if result is None:
        if messages and not any("type" in m for m in messages):
            return parse_any(stdout)
        texts = [c.get("text", "") for m in messages if m.get("type") == "assistant"
                 for c in (m.get("message") or {}).get("content") or [] if isinstance(c, dict)]
        return Report("\n".join(t for t in texts if t) or stdout,
                      error="Claude Code printed no result message (was it cut short?)")
    denials = tuple(_denial(d) for d in result.get("permission_denials") or [])
    cost = result.get("total_cost_usd", result.get("cost_usd"))
    error = None
    subtype = str(result.get("subtype") or "")
    if result.get("is_error") or subtype.startswith("error"):
        error = _CLAUDE_ERRORS.get(subtype) or str(result.get("result") or subtype or "error")
        errs = result.get("errors")
        if isinstance(errs, list) and errs:
            error += ": " + "; ".join(str(e) for e in errs[:3])
    return Report(str(result.get("result") or ""), _claude_usage(result),
                  float(cost) if isinstance(cost, (int, float)) else None, denials, error,
                  result.get("num_turns") if isinstance(result.get("num_turns"), int) else None)


def _claude_usage(result: Mapping[str, Any]) -> dict[str, int] | None:
    """Every model's tokens (``modelUsage``: the main model and the small one it uses on the
    side), else the result's ``usage``. Prompt tokens are all the model read: new input, cache
    writes and cache reads."""
    per_model = result.get("modelUsage")
    if isinstance(per_model, dict) and per_model:
        models = [m for m in per_model.values() if isinstance(m, dict)]
        return {
            "prompt": sum(_int(m, "inputTokens", "cacheReadInputTokens",
                               "cacheCreationInputTokens") for m in models),
            "output": sum(_int(m, "outputTokens") for m in models),
        }
    u = result.get("usage")
    if not isinstance(u, dict):
        return None
    return {
        "prompt": _int(u, "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"),
        "output": _int(u, "output_tokens"),
    }


def _denial(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    name = str(d.get("tool_name") or "tool")
    inp = d.get("tool_input")
    if not isinstance(inp, dict):
        inp = {}
    target = inp.get("file_path") or inp.get("command") or inp.get("path") or ""
    target = str(target)
    return f"{name}({target[:80]})" if target else name


# --- Codex -------------------------------------------------------------------------------------


def argv_codex(spec: AgentSpec, caps: Caps) -> list[str]:
    """``codex exec --json``: the coder in the ``workspace-write`` sandbox (it may edit its
    worktree), the others ``read-only``; the prompt on stdin (``-``)."""
    p = spec.provider
    sandbox = "workspace-write" if spec.type == "coder" else "read-only"
    argv = ["codex", "exec", "--json", "--sandbox", sandbox]
    if p.model:
        argv += ["--model", p.model]
    return [*argv, *p.args, "-"]


def parse_codex(stdout: str) -> Report:
    """``codex exec --json`` JSONL events: the agent's messages in ``item.completed``, usage in
    ``turn.completed`` (``input_tokens`` already includes the cached ones), errors in
    ``turn.failed``/``error``, declined commands in ``command_execution`` items."""
    texts: list[str] = []
    prompt = output = 0
    seen = False
    denials: list[str] = []
    error = None
    events = 0
    for ev in _json_lines(stdout):
        events += 1
        kind = ev.get("type")
        item = ev.get("item")
        if kind == "item.completed" and isinstance(item, dict):
            if item.get("type") in ("agent_message", "assistant_message") and item.get("text"):
                texts.append(str(item["text"]))
            if item.get("type") == "command_execution" and item.get("status") == "declined":
                denials.append(f"command({str(item.get('command', ''))[:80]})")
            if item.get("type") == "file_change" and item.get("status") == "failed":
                paths = [str(c.get("path")) for c in item.get("changes") or []
                         if isinstance(c, dict)]
                denials.append(f"file_change({', '.join(paths)[:80]})")
        if kind == "turn.completed" and isinstance(ev.get("usage"), dict):
            seen = True
            prompt += _int(ev["usage"], "input_tokens")
            output += _int(ev["usage"], "output_tokens")
        if kind == "turn.failed":
            err = ev.get("error")
            error = str(err.get("message") if isinstance(err, dict) else err)
        elif kind == "error" and ev.get("message") and error is None:
            error = str(ev["message"])
    if not events:
        return parse_any(stdout)
    return Report("\n\n".join(texts), {"prompt": prompt, "output": output} if seen else None,
                  None, tuple(denials), error)


# --- aider -------------------------------------------------------------------------------------


def argv_aider(spec: AgentSpec, caps: Caps) -> list[str]:
    """``aider --message PROMPT`` answering yes to everything, committing nothing (the loop
    commits through the hooks), touching no ``.gitignore``, plain output."""
    p = spec.provider
    argv = ["aider", "--yes-always", "--no-auto-commits", "--no-dirty-commits", "--no-gitignore",
            "--no-check-update", "--no-pretty", "--no-stream", "--no-analytics"]
    if spec.type != "coder":
        argv += ["--chat-mode", "ask"]
    if p.model:
        argv += ["--model", p.model]
    return [*argv, *p.args, "--message", PROMPT]


_NUM = r"([\d.,]+)\s*([kKmM]?)"
_AIDER_TOKENS = re.compile(r"^Tokens:\s+" + _NUM + r"\s+sent(?P<rest>[^.]*(?:\.\d[^.]*)*)")
_AIDER_PART = re.compile(_NUM + r"\s+(cache write|cache hit|received)")
_AIDER_COST = re.compile(r"Cost:\s+\$([\d.]+)\s+message")
_AIDER_ERROR = re.compile(r"^(litellm\.\w+(Error|Exception)\b.*|Error: .*|.*API key.*missing.*)",
                          re.IGNORECASE)


def _num(value: str, suffix: str) -> int:
    n = float(value.replace(",", ""))
    return round(n * {"": 1, "k": 1_000, "m": 1_000_000}[suffix.lower()])


def parse_aider(stdout: str) -> Report:
    """aider's own report after each message (aider/coders/base_coder.py): ``Tokens: 2.4k sent,
    1.1k cache write, 12k cache hit, 137 received.`` then ``Cost: $0.0094 message, $0.0094
    session.`` on the same line or the next. "sent" already counts the cache writes; cache hits
    are read too, so they count as prompt tokens. The rest of the output is the answer."""
    prompt = output = 0
    cost = 0.0
    seen = costed = False
    kept: list[str] = []
    error = None
    for line in stdout.splitlines():
        stripped = line.strip()
        m = _AIDER_TOKENS.match(stripped)
        c = _AIDER_COST.search(stripped) if m or stripped.startswith("Cost:") else None
        if m:
            seen = True
            prompt += _num(m.group(1), m.group(2))
            for n, suffix, what in _AIDER_PART.findall(m.group("rest") or ""):
                if what == "received":
                    output += _num(n, suffix)
                elif what == "cache hit":
                    prompt += _num(n, suffix)
        if c:
            costed = True
            cost += float(c.group(1))
        if m or c:
            continue
        if error is None and _AIDER_ERROR.match(stripped):
            error = stripped
        kept.append(line)
    return Report("\n".join(kept).strip("\n"),
                  {"prompt": prompt, "output": output} if seen else None,
                  round(cost, 6) if costed else None, (), error)


# --- any program -------------------------------------------------------------------------------


def parse_any(stdout: str) -> Report:
    """Any program: a last line ``{"usage": {...}, "cost_usd": X}`` (input/prompt and
    output/completion tokens) is its usage report; the rest is its output."""
    lines = stdout.rstrip("\n").splitlines()
    if lines and lines[-1].lstrip().startswith("{"):
        doc = _json(lines[-1])
        if isinstance(doc, dict) and isinstance(doc.get("usage"), dict):
            u = doc["usage"]
            cost = doc.get("cost_usd")
            return Report("\n".join(lines[:-1]), {
                "prompt": _int(u, "input_tokens", "prompt_tokens", "cache_read_input_tokens",
                               "cache_creation_input_tokens"),
                "output": _int(u, "output_tokens", "completion_tokens"),
            }, float(cost) if isinstance(cost, (int, float)) else None)
    return Report(stdout)


@dataclass(frozen=True, slots=True)
class Preset:
    """A known CLI: how to build its command line and read its output."""

    label: str
    build: Callable[[AgentSpec, Caps], list[str]]
    parse: Callable[[str], Report]


PRESETS: Mapping[str, Preset] = {
    "claude-code": Preset("Claude Code", argv_claude, parse_claude),
    "codex": Preset("Codex CLI", argv_codex, parse_codex),
    "aider": Preset("aider", argv_aider, parse_aider),
}


def argv_for(spec: AgentSpec, prompt: str, caps: Caps | None = None
             ) -> tuple[list[str], bytes | None]:
    """The program to run and what goes to its stdin (``None``: the prompt is an argument)."""
    p = spec.provider
    caps = caps or Caps()
    if p.type in PRESETS:
        base = PRESETS[p.type].build(spec, caps)
    elif p.type == "python":
        base = [sys.executable, "-m", "ossa_hooks.agents.pyagent", str(p.module), *p.args]
    else:
        base = shlex.split(p.command or "") + list(p.args)
    as_arg = any(PROMPT in a for a in base) or p.input == "arg"
    if as_arg:
        if not any(PROMPT in a for a in base):
            base.append(PROMPT)
        return [a.replace(PROMPT, prompt) for a in base], None
    return base, prompt.encode("utf-8")


def parse_output(spec: AgentSpec, stdout: str) -> Report:
    if spec.provider.type in PRESETS:
        return PRESETS[spec.provider.type].parse(stdout)
    return parse_any(stdout)


def accepts_cost_cap(spec: AgentSpec) -> bool:
    return spec.provider.type == "claude-code"
