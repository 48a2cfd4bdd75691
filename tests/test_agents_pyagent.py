"""``python -m ossa_hooks.agents.pyagent package.module:function``, run as the ``python``
provider runs it: a child process in the agent's folder, the prompt on stdin, the answer (and a
usage line) on stdout, and a one-line error with exit 127 when the callable cannot be loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

AGENT = '''\
class Bot:
    @staticmethod
    def answer(prompt):
        return "bot: " + prompt


def echo(prompt):
    return prompt


def shout(prompt):
    return prompt.strip().upper()


def with_newline(prompt):
    return "done\\n"


def nothing(prompt):
    return None


def number(prompt):
    return 42


def pair(prompt):
    return ("paired", {"input_tokens": 3, "output_tokens": 4})


def pair_without_usage(prompt):
    return ("paired", "not a mapping")


def mapping(prompt):
    return {"text": "mapped", "usage": {"input_tokens": 1, "output_tokens": 2}}


def mapping_output(prompt):
    return {"output": "from output"}


def mapping_bad_usage(prompt):
    return {"text": "mapped", "usage": [1, 2]}


def empty(prompt):
    return ""


CONSTANT = 7
'''


def run(cwd: Path, *args: str, prompt: str = "hello") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ossa_hooks.agents.pyagent", *args], cwd=cwd,
                          input=prompt, capture_output=True, text=True, check=False,
                          encoding="utf-8")


@pytest.fixture
def agent_dir(committed_repo: Path) -> Path:
    """The agent module in the repository's folder (the runner's current folder)."""
    (committed_repo / "myagent.py").write_text(AGENT, encoding="utf-8")
    pkg = committed_repo / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (committed_repo / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "agent.py").write_text("def run(prompt):\n    return 'pkg ' + prompt\n")
    return committed_repo


@pytest.mark.parametrize(("target", "stdout"), [
    ("myagent:shout", "HELLO\n"),
    ("myagent:with_newline", "done\n"),  # no second newline
    ("myagent:nothing", ""),
    ("myagent:empty", ""),
    ("myagent:number", "42\n"),
    ("myagent:Bot.answer", "bot: hello\n"),  # dotted attribute path
    ("pkg.sub.agent:run", "pkg hello\n"),  # dotted module path
    ("myagent:mapping_output", "from output\n"),
    ("myagent:pair_without_usage", "paired\n"),
    ("myagent:mapping_bad_usage", "mapped\n"),
])
def test_results_become_the_answer(agent_dir: Path, target: str, stdout: str) -> None:
    proc = run(agent_dir, target)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == stdout
    assert proc.stderr == ""


@pytest.mark.parametrize(("target", "text", "usage"), [
    ("myagent:pair", "paired", {"input_tokens": 3, "output_tokens": 4}),
    ("myagent:mapping", "mapped", {"input_tokens": 1, "output_tokens": 2}),
])
def test_usage_goes_on_its_own_json_line(agent_dir: Path, target: str, text: str,
                                         usage: dict[str, int]) -> None:
    proc = run(agent_dir, target)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == text
    assert json.loads(lines[1]) == {"usage": usage}
    assert len(lines) == 2


def test_the_prompt_arrives_whole_on_stdin(agent_dir: Path) -> None:
    prompt = "line one\n  «ünïcode» line two\n\n$HOME `x` \"q\"\n"
    proc = run(agent_dir, "myagent:echo", prompt=prompt)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == prompt


@pytest.mark.parametrize("args", [[], ["myagent"], ["myagent:echo", "extra"]])
def test_bad_arguments_print_the_usage(agent_dir: Path, args: list[str]) -> None:
    proc = run(agent_dir, *args)
    assert proc.returncode == 2
    assert proc.stderr == "usage: python -m ossa_hooks.agents.pyagent package.module:function\n"
    assert proc.stdout == ""


@pytest.mark.parametrize(("target", "detail"), [
    ("no_such_agent_mod:run", "No module named 'no_such_agent_mod'"),
    ("myagent:missing", "has no attribute 'missing'"),
    ("myagent:Bot.missing", "has no attribute 'missing'"),
    ("myagent:", "has no attribute ''"),
    ("pkg.nope:run", "No module named 'pkg.nope'"),
])
def test_unloadable_targets_are_one_line_errors(agent_dir: Path, target: str,
                                                detail: str) -> None:
    proc = run(agent_dir, target)
    assert proc.returncode == 127
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"ossa-hooks: python agent {target}: cannot load it: ")
    assert detail in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_missing_dependency_of_the_agent_is_named(agent_dir: Path) -> None:
    (agent_dir / "needsdep.py").write_text("import langgraph_not_installed_here\n"
                                           "def run(p):\n    return p\n")
    proc = run(agent_dir, "needsdep:run")
    assert proc.returncode == 127
    assert "No module named 'langgraph_not_installed_here'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("target", [":run", "..myagent:echo", "broken:run"])
def test_other_resolution_errors_are_one_line_too(agent_dir: Path, target: str) -> None:
    (agent_dir / "broken.py").write_text("def run(:\n")
    proc = run(agent_dir, target)
    assert proc.returncode == 127
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_a_non_callable_target_is_a_one_line_error(agent_dir: Path) -> None:
    proc = run(agent_dir, "myagent:CONSTANT")
    assert proc.returncode == 127
    assert "Traceback" not in proc.stderr
