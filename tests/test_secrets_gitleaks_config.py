"""``.gitleaks.toml`` read by ossa-hooks (ossa_hooks/secrets/gitleaks_config.py): custom rules,
``[extend] useDefault``, ``disabledRules``, ``[allowlist]`` and ``[[allowlists]]``; errors as one
line naming the file and the rule. On real repositories, through ``ossa-hooks scan``."""

from __future__ import annotations

from pathlib import Path

from conftest import commit_files
from conftest import git
from conftest import ossa
from conftest import rnd

ACME = "acme_" + rnd(24, "acme").lower()
GHP = "ghp_" + rnd(36, "gl-ghp")

CUSTOM = """
[extend]
useDefault = true

[[rules]]
id = "acme-key"
description = "ACME internal API key"
regex = '''\\b(acme_[a-z0-9]{24})\\b'''
keywords = ["acme_"]
[rules.allowlist]
regexes = ['''acme_0{24}''']

[allowlist]
paths = ['''^fixtures/''']

[[allowlists]]
stopwords = ["notreal"]
"""


def paths_found(repo: Path) -> set[str]:
    r = ossa(repo, "scan", "--all-files", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    import json

    return {f["path"] + ":" + f["kind"] for f in json.loads(r.stdout)}


def test_custom_rules_allowlists_and_defaults(committed_repo: Path) -> None:
    commit_files(committed_repo, {
        ".gitleaks.toml": CUSTOM,
        "app.py": f'k = "{ACME}"\n',
        "zero.py": 'k = "acme_' + "0" * 24 + '"\n',
        "fixtures/t.py": f'T = "{GHP}"\n',
        "tok.py": f'T = "{GHP}"\n',
        "n.py": 'T = "ghp_notreal' + rnd(28, "nr") + '"\n',
        "allowed.py": f'T = "{GHP}"  # gitleaks:allow\n',
    })
    assert paths_found(committed_repo) == {"app.py:acme-key", "tok.py:GitHub Token"}


def test_without_use_default_the_file_replaces_the_builtin_rules(committed_repo: Path) -> None:
    body = CUSTOM.replace("useDefault = true", "useDefault = false")
    commit_files(committed_repo, {".gitleaks.toml": body, "app.py": f'k = "{ACME}"\n',
                                  "tok.py": f'GH = "{GHP}"\n'})
    # The GitHub rule is gone; ossa-hooks' own keyword check stays (it names nothing here).
    assert paths_found(committed_repo) == {"app.py:acme-key"}


def test_disabled_rules(committed_repo: Path) -> None:
    body = CUSTOM.replace("useDefault = true",
                          'useDefault = true\ndisabledRules = ["github-token"]')
    commit_files(committed_repo, {".gitleaks.toml": body, "tok.py": f'GH = "{GHP}"\n'})
    assert paths_found(committed_repo) == set()


def test_broken_config_is_one_line_naming_file_and_rule(committed_repo: Path) -> None:
    (committed_repo / ".gitleaks.toml").write_text(
        "[[rules]]\nid = \"broken\"\nregex = '''(unclosed'''\n")
    git(committed_repo, "add", ".gitleaks.toml")
    r = ossa(committed_repo, "scan", "--staged")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and ".gitleaks.toml: rule broken: invalid regex" in lines[0]
    assert "Traceback" not in r.stderr
