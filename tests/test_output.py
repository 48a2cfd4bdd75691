"""output: streams that write anything, --quiet/--verbose, NO_COLOR, git-style path quoting."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ossa_hooks import output


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("value", "color"), [(None, True), ("", True), ("1", False),
                                              ("false", False)])
def test_no_color_counts_only_when_not_empty(monkeypatch: pytest.MonkeyPatch,
                                             value: str | None, color: bool) -> None:
    monkeypatch.delenv("TERM", raising=False)
    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    assert output.use_color(Tty()) is color
    assert output.use_color(io.StringIO()) is False  # never on a pipe


def test_quote_path_like_git(committed_repo: Path) -> None:
    odd = ["plain.txt", "ø naïve.txt", "two\nlines", 'say "hi"', "back\\slash", "tab\there"]
    for name in odd:
        (committed_repo / name).write_text("x\n")
    git(committed_repo, "add", "-A")
    listed = git(committed_repo, "-c", "core.quotePath=false", "diff", "--cached",
                 "--name-only").stdout.splitlines()
    assert sorted(output.quote_path(n) for n in odd) == sorted(listed)


def test_quote_path_of_undecodable_bytes() -> None:
    assert output.quote_path(os.fsdecode(b"caf\xe9")) == '"caf\\351"'


def _unquote(text: str) -> bytes:
    if not text.startswith('"'):
        return os.fsencode(text)
    body = text[1:-1].encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    simple = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12,
              ord("r"): 13, ord('"'): 34, ord("\\"): 92}
    while i < len(body):
        if body[i] == 92:
            if body[i + 1] in simple:
                out.append(simple[body[i + 1]])
                i += 2
            else:
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
        else:
            out.append(body[i])
            i += 1
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b))
def test_quote_path_is_one_line_and_reversible(raw: bytes) -> None:
    name = raw.decode("utf-8", "surrogateescape")
    quoted = output.quote_path(name)
    assert "\n" not in quoted and "\r" not in quoted
    assert _unquote(quoted) == raw


def test_an_ascii_locale_prints_any_name(tmp_path: Path) -> None:
    code = ("from ossa_hooks import output; import os\n"
            "output.setup_streams()\n"
            "print(chr(0xf8), os.fsdecode(bytes([99, 97, 102, 0xe9])))\n")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"\\xf8 caf\xe9\n"  # escaped where ASCII has no letter; bytes back


def test_quiet_and_verbose_reach_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(output.QUIET_VAR, raising=False)
    monkeypatch.delenv(output.VERBOSE_VAR, raising=False)
    assert not output.quiet() and not output.verbose()
    output.set_level(quiet=True, verbose=False)
    assert output.quiet() and not output.verbose()
