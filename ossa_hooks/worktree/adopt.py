"""Agent worktrees that other tools made: recognised, recorded, and treated like ossa-hooks' own.

Claude Code puts its agents' worktrees in ``<main>/.claude/worktrees/NAME``; worktrunk puts a
branch's worktree beside the main one, ``<parent>/<repo>.<branch with / as ->``. Such a
worktree is *adopted*: a record in the git common dir (``ossa-hooks/adopted/<key>.json``: the
worktree, its branch, the agent and task it stands for, the tool that made it, who adopted it)
lets any hook tell from the worktree alone that it belongs to an agent, ``worktree list`` and
the post-merge sweep include it, and it gets snapshots and leases like any worktree.
A worktree in a known layout is adopted automatically when git first checks it out
(post-checkout of ``git worktree add``); ``ossa-hooks worktree adopt PATH`` adopts any other.
"""

from __future__ import annotations

import os

from ossa_hooks import git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ossa_hooks.doctor import Finding
    from ossa_hooks.git import RepoPaths

# The record lives in the worktree's own admin folder in the common dir
# (``.git/worktrees/ID/``): git moves it with ``worktree move`` and removes it with the
# worktree, so a record never outlives its worktree, and a hook finds it from its git dir.
RECORD = "ossa-adopted.json"
CLAUDE_CODE = "claude-code"
WORKTRUNK = "worktrunk"
MANUAL = "manual"
# The agent name a tool's worktrees stand for when --agent does not say.
_DEFAULT_AGENT = {CLAUDE_CODE: "claude", WORKTRUNK: "worktrunk"}
_FIELDS = ("path", "branch", "agent", "task", "tool", "by", "at")


class Adopted:
    """One adopted worktree (a plain class: hooks read it)."""

    __slots__ = _FIELDS

    def __init__(self, path: str, branch: str, agent: str, task: str, tool: str, by: str,
                 at: float) -> None:
        self.path = path
        self.branch = branch
        self.agent = agent
        self.task = task
        self.tool = tool
        self.by = by
        self.at = at

    def describe(self) -> str:
        return f"agent {self.agent}, task {self.task} ({self.tool}, adopted by {self.by})"

    def as_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in _FIELDS}


# --- records ------------------------------------------------------------------------------------


def record_path(git_dir: str) -> str:
    """Where the adoption record of the worktree whose git dir is ``git_dir`` lives."""
    return os.path.join(git_dir, RECORD)


def _parse(path: str) -> Adopted | None:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return Adopted(**{k: data[k] for k in _FIELDS})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def read_git_dir(git_dir: str) -> Adopted | None:
    """The adoption record of the worktree with this git dir (a hook's fast question)."""
    path = record_path(git_dir)
    return _parse(path) if os.path.exists(path) else None


def read(worktree: str | os.PathLike[str]) -> Adopted | None:
    """The adoption record of ``worktree``, if it was adopted."""
    admin = git.admin_dir(worktree)
    return read_git_dir(admin) if admin is not None else None


def all_adopted(repo: RepoPaths) -> list[Adopted]:
    folder = os.path.join(repo.common_dir_str, "worktrees")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = [read_git_dir(os.path.join(folder, n)) for n in names]
    return [a for a in found if a is not None]


def _write(git_dir: str, record: Adopted) -> None:
    import json

    from ossa_hooks.errors import OssaError

    path = record_path(git_dir)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record.as_json(), f, indent=2)
        os.replace(tmp, path)
    except OSError as e:
        raise OssaError(f"{git_dir}: cannot record the adoption: {e.strerror}") from None


def forget(worktree: str | os.PathLike[str]) -> bool:
    """Drop the adoption record of ``worktree``; False when there was none."""
    admin = git.admin_dir(worktree)
    if admin is None:
        return False
    try:
        os.unlink(record_path(admin))
    except FileNotFoundError:
        return False
    return True


# --- layouts ------------------------------------------------------------------------------------


def sanitize(branch: str) -> str:
    """A branch name as worktrunk puts it in a folder name (``/`` and ``\\`` become ``-``)."""
    return branch.replace("/", "-").replace("\\", "-")


def known_layout(main: str | None, worktree: str, branch: str | None) -> str | None:
    """The tool whose layout ``worktree`` follows (``claude-code``, ``worktrunk``), if any."""
    if main is None:
        return None
    main_real, here = os.path.realpath(main), os.path.realpath(worktree)
    claude = os.path.join(main_real, ".claude", "worktrees")
    if os.path.dirname(here) == claude:
        return CLAUDE_CODE
    if branch and os.path.dirname(here) == os.path.dirname(main_real) and \
            os.path.basename(here) == f"{os.path.basename(main_real)}.{sanitize(branch)}":
        return WORKTRUNK
    return None


def _folder_task(main: os.PathLike[str] | None, target: str, tool: str) -> str:
    """The part of the worktree's folder name that names its task (worktrunk's folders
    repeat the repository's name: ``shop.feature-x`` is task ``feature-x``)."""
    name = os.path.basename(target)
    prefix = f"{os.path.basename(os.fspath(main))}." if main is not None else ""
    if tool == WORKTRUNK and prefix and name.startswith(prefix):
        return name[len(prefix):]
    return name


def _task_name(folder: str) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder).strip("-.")
    return re.sub(r"\.{2,}", ".", name) or "task"


# --- adopt ---------------------------------------------------------------------------------------


def adopt(repo: RepoPaths, path: str | os.PathLike[str], *, agent: str | None = None,
          task: str | None = None, tool: str | None = None, by: str | None = None) -> Adopted:
    """Record the linked worktree at ``path`` as an agent worktree (again: updates the record).

    ``agent`` defaults to the tool's name for its agents (``claude``, ``worktrunk``) and
    ``task`` to the worktree's folder name; a worktree in no known layout needs ``agent``.
    """
    import time

    from ossa_hooks import audit
    from ossa_hooks import identity
    from ossa_hooks.errors import OssaError
    from ossa_hooks.worktree.records import BRANCH_PREFIX
    from ossa_hooks.worktree.records import _cwd
    from ossa_hooks.worktree.records import main_worktree
    from ossa_hooks.worktree.records import validate_name
    from ossa_hooks.worktree.records import worktree_entries

    target = os.path.realpath(path)
    entries = worktree_entries(_cwd(repo))
    entry = next((e for e in entries if os.path.realpath(e.path) == target), None)
    if entry is None:
        raise OssaError(f"{target} is not a worktree of this repository: `git worktree list`"
                        " shows them")
    admin = git.admin_dir(target)
    if admin is None or not os.path.isdir(admin):
        raise OssaError(f"{target} is the main worktree: only linked worktrees can be an"
                        " agent's")
    if (entry.branch or "").startswith(BRANCH_PREFIX):
        raise OssaError(f"{target} is already an ossa-hooks agent worktree ({entry.branch}):"
                        " nothing to adopt")
    main = main_worktree(repo)
    tool_name = tool or known_layout(str(main) if main else None, target, entry.branch) or MANUAL
    if agent is None:
        agent = _DEFAULT_AGENT.get(tool_name)
        if agent is None:
            raise OssaError(f"{target} is in no layout ossa-hooks knows: name its agent with"
                            " --agent NAME (and --task NAME)")
    record = Adopted(
        path=target,
        branch=entry.branch or "",
        agent=validate_name("AGENT", agent),
        task=validate_name("TASK", task or _task_name(_folder_task(main, target, tool_name))),
        tool=tool_name,
        by=by or identity.actor(),
        at=time.time(),
    )
    _write(admin, record)
    audit.record(repo, "worktree", "adopt", 0, 0.0,
                 {k: v for k, v in record.as_json().items() if k != "at"})
    return record


def auto_adopt(repo: RepoPaths) -> Adopted | None:
    """Adopt the worktree ``repo`` is in when it follows a known layout and is not yet
    recorded (called by post-checkout when git has just made a worktree)."""
    here = repo.toplevel_str
    if here is None or os.path.exists(record_path(repo.git_dir_str)):
        return None
    from ossa_hooks.errors import OssaError
    from ossa_hooks.worktree.guard_layout import main_path
    from ossa_hooks.worktree.guard_layout import read_head

    branch, _ = read_head(repo.git_dir_str)
    if known_layout(main_path(repo.common_dir_str), here, branch) is None:
        return None
    try:
        return adopt(repo, here)
    except OssaError:
        return None


# --- doctor -------------------------------------------------------------------------------------


def doctor_check(repo: RepoPaths) -> list[Finding]:
    """Which worktrees are agent worktrees and who made them; a worktree in a known layout
    that is not adopted is a note with the command that adopts it."""
    from ossa_hooks.doctor import Finding
    from ossa_hooks.worktree.records import BRANCH_PREFIX
    from ossa_hooks.worktree.records import ENV_FILE
    from ossa_hooks.worktree.records import _cwd
    from ossa_hooks.worktree.records import read_env
    from ossa_hooks.worktree.records import worktree_entries

    found: list[Finding] = []
    entries = worktree_entries(_cwd(repo))
    main = str(entries[0].path) if entries and not entries[0].bare else None
    for e in entries[1:]:
        where = str(e.path)
        record = read(e.path)
        tool = known_layout(main, where, e.branch)
        if (e.branch or "").startswith(BRANCH_PREFIX):
            made = read_env(e.path / ENV_FILE).get("OSSA_CREATED_AT", "")
            found.append(Finding("ok", where, f"agent worktree on {e.branch} (made by"
                                 f" `ossa-hooks worktree create`{', ' + made if made else ''})"))
        elif record is not None:
            found.append(Finding("ok", where, f"adopted agent worktree: {record.describe()}"))
        elif tool is not None:
            found.append(Finding("note", where, f"a {tool} worktree, not adopted: its hooks"
                                 " take every process in it for a person",
                                 f"ossa-hooks worktree adopt {where}"))
    return found
