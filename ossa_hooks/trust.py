"""Trust for commands a repository supplies: the judge's checks, ``budget.escalate_command``,
agent commands. A cloned repository's committed ``.ossa-hooks.yaml`` runs nothing the user has
not approved: the first time, ossa-hooks lists the commands and asks on the terminal, or refuses
with the one command that approves them (``ossa-hooks trust``). What was approved is stored as a
hash per repository and kind in the user's state folder (``$XDG_STATE_HOME/ossa-hooks``), never
in the repository; a changed command asks again. ossa-hooks' own default commands need no
approval.

``OSSA_HOOKS_TRUST_ALL=1`` approves everything (for CI, where the repository is the one
being tested, and for test suites).
"""

from __future__ import annotations

import os
import sys

from ossa_hooks.errors import EXIT_FAILED
from ossa_hooks.errors import OssaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ossa_hooks.config import Config
    from ossa_hooks.git import RepoPaths

TRUST_ALL = "OSSA_HOOKS_TRUST_ALL"
STATE_NAME = "trusted.json"

JUDGE_CHECKS = "judge checks"
ESCALATE = "budget.escalate_command"


def state_file() -> Path:
    from pathlib import Path

    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return Path(base) / "ossa-hooks" / STATE_NAME


def repo_key(repo: RepoPaths) -> str:
    return os.path.realpath(repo.common_dir_str)


def fingerprint(commands: Sequence[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(commands)).encode()).hexdigest()


def repository_commands(config: Config) -> dict[str, list[str]]:
    """The commands ``config`` would run that are not ossa-hooks' defaults, by kind."""
    from ossa_hooks.config import defaults

    builtin = {spec["run"] for spec in defaults()["judge"]["checks"].values()}
    checks = [f"judge.checks.{name}: {spec['run']}"
              for name, spec in config.get("judge.checks").items()
              if spec["run"] not in builtin]
    out = {JUDGE_CHECKS: checks}
    escalate = config.get("budget.escalate_command")
    out[ESCALATE] = [str(escalate)] if escalate else []
    return out


def _load() -> dict[str, dict[str, str]]:
    import json

    try:
        with open(state_file(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_approved(repo: RepoPaths, what: str, commands: Sequence[str]) -> bool:
    if not commands or os.environ.get(TRUST_ALL) == "1":
        return True
    entry = _load().get(repo_key(repo), {})
    return isinstance(entry, dict) and entry.get(what) == fingerprint(commands)


def approve(repo: RepoPaths, what: str, commands: Sequence[str]) -> None:
    """Remember that the user approved exactly ``commands`` of kind ``what`` in ``repo``."""
    import json

    data = _load()
    entry = data.get(repo_key(repo))
    entry = dict(entry) if isinstance(entry, dict) else {}
    if commands:
        entry[what] = fingerprint(commands)
    else:
        entry.pop(what, None)
    data[repo_key(repo)] = entry
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as e:
        raise OssaError(f"{path}: cannot record the approval: {e.strerror}") from None


def require_trusted(repo: RepoPaths, what: str, commands: Sequence[str], *,
                    source: str | None = None, ask: bool | None = None) -> None:
    """Return when ``commands`` (of kind ``what``, e.g. "judge checks") were approved for
    ``repo``; else list them and ask on the terminal (``ask`` None: when there is one), or
    raise an error naming ``ossa-hooks trust`` (exit 1: nothing ran)."""
    if is_approved(repo, what, commands):
        return
    origin = f" ({source})" if source else ""
    listing = "\n".join(f"  {c}" for c in commands)
    question = (f"ossa-hooks: this repository's configuration{origin} runs {what} you have "
                f"not approved:\n{listing}\n")
    answer = _ask(question + "Run them? [y/N] ") if ask is not False else None
    if answer is None:
        print(question, end="", file=sys.stderr)
    elif answer.strip().lower() in ("y", "yes"):
        approve(repo, what, commands)
        return
    raise OssaError(f"{what} not approved: nothing ran; review them and approve with "
                    f"`ossa-hooks trust`", code=EXIT_FAILED)


def _ask(prompt: str) -> str | None:
    """``prompt`` on the controlling terminal and the line typed; None when there is no
    terminal (a GUI git client, CI)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        os.write(fd, prompt.encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            answer += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    return answer.decode("utf-8", "replace")
