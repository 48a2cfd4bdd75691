"""Lines marked as not secret (ossa_hooks/secrets/allow.py): detect-secrets' pragmas exactly as
detect-secrets applies them, and gitleaks' ``gitleaks:allow``; checked against detect-secrets'
own filter and through ``ossa-hooks scan`` on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ossa
from conftest import rnd

from ossa_hooks.secrets.allow import pragma_allows

VALUE = rnd(20, "allow") + "#7"

LINES = [
    (f'password = "{VALUE}"  # pragma: allowlist secret', True),
    (f'password = "{VALUE}"  #pragma:allowlist secret', True),
    (f'password = "{VALUE}"  # pragma: allowlist-secret', True),
    (f'password = "{VALUE}"  # pragma: whitelist secret', True),
    (f'password = "{VALUE}"  // pragma: allowlist secret', True),
    (f'password = "{VALUE}"  /* pragma: allowlist secret */', True),
    (f'password = "{VALUE}"  -- pragma: allowlist secret', True),
    (f'<p a="{VALUE}"/> <!-- pragma: allowlist secret -->', True),
    # In a string, not a comment: detect-secrets wants a comment marker before it.
    (f'password = "{VALUE}"; note = "pragma: allowlist secret"', False),
    (f'password = "{VALUE}"  # pragma: allowlistsecret', False),
    (f'password = "{VALUE}"', False),
]


@pytest.mark.parametrize(("line", "allowed"), LINES)
def test_same_line_pragma_as_detect_secrets(line: str, allowed: bool) -> None:
    from detect_secrets.filters.allowlist import is_line_allowlisted
    from detect_secrets.util.code_snippet import CodeSnippet

    assert pragma_allows("app.py", line, None) is allowed
    theirs = is_line_allowlisted("app.py", line, CodeSnippet([line], 0, 0))
    assert theirs is allowed  # the same verdict as detect-secrets' own filter


def test_nextline_pragma_only_alone_on_the_line_before() -> None:
    line = f'password = "{VALUE}"'
    assert pragma_allows("app.py", line, "# pragma: allowlist nextline secret")
    assert not pragma_allows("app.py", line, "x = 1  # pragma: allowlist nextline secret")


def test_yaml_files_take_only_hash_comments() -> None:
    assert pragma_allows("c.yaml", f"password: {VALUE}  # pragma: allowlist secret", None)
    assert not pragma_allows("c.yaml", f"password: {VALUE}  // pragma: allowlist secret", None)


def test_scan_honours_pragmas_and_gitleaks_allow(tmp_path: Path) -> None:
    token = "ghp_" + rnd(36, "gh-allow")
    (tmp_path / "a.py").write_text(f'T = "{token}"  # gitleaks:allow\n')
    (tmp_path / "b.py").write_text(f'T = "{token}"  #pragma:allowlist secret\n')
    (tmp_path / "c.py").write_text(f'T = "{token}"; x = "pragma: allowlist secret"\n')
    r = ossa(tmp_path, "scan", "--format", "json", ".")
    assert r.returncode == 1, r.stderr
    assert '"path": "c.py"' in r.stdout and '"a.py"' not in r.stdout and '"b.py"' not in r.stdout
