"""``ossa-hooks spawn "TASK"`` (the OSSA docs' ``ossa-auto-spawn.sh``): write a task worktree's
three agent specs, its workflow definition and ``.agents-workspace/execute-task.sh``."""

from __future__ import annotations

import json
import shlex
import string
import sys
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ossa_hooks.agents import budget as budget
from ossa_hooks.agents import providers as providers
from ossa_hooks.agents import specs as agents
from ossa_hooks.config import Config
from ossa_hooks.errors import OssaError
from ossa_hooks.git import RepoPaths
from ossa_hooks.resources import template

WORKFLOW_FILE = "360-loop.yaml"
SCRIPT = "execute-task.sh"
# What spawn writes belongs to one task worktree: never committed, and not "uncommitted
# changes" that would keep the worktree from being cleaned up once its branch is merged.
EXCLUDED = (f"/{agents.WORKSPACE}/agents/", f"/{agents.WORKSPACE}/workflows/",
            f"/{agents.WORKSPACE}/{SCRIPT}")


def provider_value(provider: str, command: str | None, module: str | None,
                   args: Sequence[str] = ()) -> Any:
    """The ``provider:`` value of the specs for the CLI's --provider/--command/--module and
    --agent-arg (more arguments for the agent program)."""
    value: dict[str, Any]
    if command is not None:
        if provider != "command":
            raise OssaError(f"--command goes with --provider command, not {provider}")
        try:
            shlex.split(command)
        except ValueError as e:
            raise OssaError(f"--command: cannot be split like a shell: {e}") from None
        value = {"type": "command", "command": command}
    elif provider == "command":
        raise OssaError('--provider command needs --command "PROGRAM ARGS"')
    elif provider == "python":
        if not module or ":" not in module:
            raise OssaError('--provider python needs --module "package.module:function"')
        value = {"type": "python", "module": module}
    elif provider not in providers.PRESETS:
        raise OssaError(f"unknown provider '{provider}' (one of {', '.join(agents.PROVIDERS)})")
    else:
        value = {"type": provider}
    if args:
        value["args"] = list(args)
    return value if len(value) > 1 else value["type"]


def _flow(value: Any) -> str:
    """A YAML flow value (JSON is YAML) for the ``${...}`` slots of the templates."""
    return json.dumps(value, ensure_ascii=False)


def auto_spawn(
    repo: RepoPaths,
    config: Config,
    worktree: Path,
    task_description: str,
    provider: Any,
    force: bool = False,
    manifests: Sequence[Path] = (),
) -> list[Path]:
    """Write the specs, the workflow definition and the script; register the task's budgets.

    Each OSSA ``kind: Agent`` manifest in ``manifests`` is the spec of its agent type (copied as
    it is, so it stays a manifest) and the workflow names it."""
    if not task_description.strip():
        raise OssaError('spawn needs a task description: ossa-hooks spawn "what to do"')
    ws = agents.workspace(worktree)
    targets = [agents.spec_path(worktree, t) for t in agents.AGENT_TYPES]
    targets += [ws / "workflows" / WORKFLOW_FILE, ws / SCRIPT]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise OssaError(f"{existing[0]} exists: agents were already spawned here "
                        "(--force writes them again)")
    task = budget.task_of(worktree)
    task_budget = task.budget if task.budget is not None else int(config.get("budget.task"))
    agent_budgets: dict[str, int] = dict(config.get("budget.agents"))
    for sub in ("agents", "workflows", "data", "logs", "metrics", "config"):
        (ws / sub).mkdir(parents=True, exist_ok=True)
    written = []
    for kind, path in zip(agents.AGENT_TYPES, targets, strict=False):
        text = string.Template(template(f"agents/{kind}.yaml").read_text(encoding="utf-8"))
        path.write_text(text.safe_substitute(budget=agent_budgets.get(kind, 0),
                                        provider=_flow(provider)), encoding="utf-8")
        agents.load_spec(path)  # what we write must pass our own validation
        written.append(path)
    names = _use_manifests(worktree, manifests)
    wf = string.Template(template(f"workflows/{WORKFLOW_FILE}").read_text(encoding="utf-8"))
    definition = wf.safe_substitute(task=_flow(task_description.strip()),
                                    max_review_rounds=config.get("workflow.max_review_rounds"),
                                    budget=task_budget)
    for kind, name in names.items():
        definition = definition.replace(f"    agent: {kind}\n", f"    agent: {_flow(name)}\n")
    targets[3].write_text(definition, encoding="utf-8")
    written.append(targets[3])
    script = template(f"agents/{SCRIPT}").read_text(encoding="utf-8")
    targets[4].write_text(script.replace("@PYTHON@", shlex.quote(sys.executable)),
                          encoding="utf-8")
    targets[4].chmod(0o755)
    written.append(targets[4])
    specs = agents.load_workspace_specs(worktree)
    _approve(repo, specs.values())
    budget.register_task(repo, task, task_budget, agents.budgets_of(specs, config))
    ensure_excluded(repo)
    return written


def _use_manifests(worktree: Path, manifests: Sequence[Path]) -> dict[str, str]:
    """Put each Agent manifest in place of its type's spec; agent type -> agent name."""
    from ossa_hooks.agents import manifest

    names: dict[str, str] = {}
    for path in manifests:
        try:
            text = path.read_bytes()
        except OSError as e:
            raise OssaError(f"{path}: cannot read: {e.strerror}") from None
        if not manifest.is_manifest(text):
            raise OssaError(f"{path}: not an OSSA manifest (apiVersion: ossa/v0.x, kind: Agent)")
        if b"kind: Workflow" in text:
            raise OssaError(f"{path}: a Workflow manifest runs as it is: ossa-hooks workflow "
                            f"orchestrate --config {path}")
        spec = agents.parse_spec(text, str(path), path)
        if spec.type in names:
            raise OssaError(f"{path}: a second {spec.type} manifest (one agent per role)")
        for field in spec.ignored:
            print(f"ossa-hooks: {path}: ignored: {field}", file=sys.stderr)
        agents.spec_path(worktree, spec.type).write_bytes(text)
        names[spec.type] = spec.name
    return names


def _approve(repo: RepoPaths, specs: Iterable[agents.AgentSpec]) -> None:
    """The commands of the specs spawn just wrote came from the person running it: approved."""
    from ossa_hooks import trust

    for spec in specs:
        trust.approve(repo, agents.trust_kind(spec), agents.commands_to_trust(spec))


def ensure_excluded(repo: RepoPaths) -> None:
    """Add ``EXCLUDED`` to the repository's ``info/exclude`` (shared by its worktrees), once."""
    path = repo.common_dir / "info" / "exclude"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as e:
        raise OssaError(f"{path}: cannot read: {e.strerror}") from None
    present = {line.strip() for line in text.splitlines()}
    missing = [e for e in EXCLUDED if e not in present]
    if not missing:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lead = "" if not text or text.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8") as f:
        f.write(lead + "# ossa-hooks spawn: per-task agent specs and workflow\n"
                + "".join(f"{e}\n" for e in missing))
