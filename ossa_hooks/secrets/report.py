"""What a scan reports: the text lines and summary people read, SARIF 2.1.0 for code scanning."""

from __future__ import annotations

from ossa_hooks import __version__

# The commit hook imports this module for its text output: nothing heavy at import time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ossa_hooks.secrets.scanner import Finding
    from ossa_hooks.secrets.scanner import ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def rule_id(kind: str) -> str:
    """A stable rule id for a secret type: "AWS Access Key" -> "secret/aws-access-key"."""
    import re

    return "secret/" + re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")


def _fingerprint(f: Finding) -> str:
    import hashlib

    return hashlib.sha256(f"{f.path}\0{f.kind}\0{f.hashed}".encode("utf-8", "replace")).hexdigest()


# Kinds whose findings are less certain: a value judged by the name it is assigned to or by
# its entropy, rather than by a provider's token format.
_GENERIC_KINDS = frozenset({"Secret Keyword", "Base64 High Entropy String",
                            "Hex High Entropy String", "Basic Auth Credentials",
                            "HTTP Authorization Header", "HTTP API Key Header",
                            "Connection String Password"})
HELP_URI = "https://github.com/ossa-hooks/ossa-hooks#secrets"


def security_severity(kind: str) -> str:
    """GitHub code scanning's ``security-severity`` (0.0-10.0; >= 9.0 shows as critical)."""
    if kind == "Private Key" or kind.endswith("Secret Key"):
        return "9.5"
    return "7.0" if kind in _GENERIC_KINDS else "9.0"


def precision(kind: str) -> str:
    """SARIF ``precision`` as code scanning reads it: very-high, high, medium, low."""
    return "medium" if kind in _GENERIC_KINDS else "high"


def sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    import re
    from urllib.parse import quote

    kinds = sorted({f.kind for f in findings})
    rules = [
        {
            "id": rule_id(k),
            "name": re.sub(r"[^A-Za-z0-9]+", "", k.title()),
            "shortDescription": {"text": f"Possible secret: {k}"},
            "fullDescription": {"text": f"A value that looks like a {k} was committed."},
            "helpUri": HELP_URI,
            "help": {"text": "Revoke the secret, remove it from the history, and read it from "
                             "the environment or a secret store instead. Not a secret? Add a "
                             "`pragma: allowlist secret` comment to the line or record it with "
                             "`ossa-hooks scan --update-baseline`."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secret", "external/cwe/cwe-798"],
                           "precision": precision(k),
                           "security-severity": security_severity(k)},
        }
        for k in kinds
    ]
    index = {k: i for i, k in enumerate(kinds)}
    results = []
    for f in sorted(findings, key=lambda f: (f.path, f.line, f.kind)):
        result: dict[str, Any] = {
            "ruleId": rule_id(f.kind),
            "ruleIndex": index[f.kind],
            "level": "error",
            "message": {"text": f"{f.kind}: {f.masked}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(1, f.line)},
                    }
                }
            ],
            # Stable across runs, yet not the bare hash of the secret (a weak password's SHA-1
            # can be brute-forced, and SARIF files get uploaded).
            "partialFingerprints": {"ossaSecret/v1": _fingerprint(f)},
        }
        if f.commit:
            result["properties"] = {"commit": f.commit}
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ossa-hooks",
                        "version": __version__,
                        "informationUri": "https://github.com/ossa-hooks/ossa-hooks",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


HOW_TO_ALLOW = (
    "not a secret? add a `pragma: allowlist secret` comment to its line, exclude the path "
    "under `secrets.exclude` in .ossa-hooks.yaml, or record the current findings with "
    "`ossa-hooks scan --update-baseline` (then commit .secrets.baseline)"
)


def summary(result: ScanResult, where: str) -> str:
    n = len(result.findings)
    files = len({f.path for f in result.findings})
    head = f"{_plural(n, 'possible secret')} in {_plural(files, 'file')}" if n else "no secrets"
    size = f"{result.bytes / 1e6:.1f} MB" if result.bytes >= 100_000 else f"{result.bytes} bytes"
    text = f"{head} ({_plural(result.files, 'file')}, {size} of {where} scanned"
    skipped = []
    if result.binary:
        skipped.append(f"{result.binary} binary")
    if result.too_large:
        skipped.append(f"{result.too_large} over the size limit")
    if result.not_files:
        skipped.append(f"{result.not_files} symlink/submodule")
    if skipped:
        text += "; skipped " + ", ".join(skipped)
    if result.allowed:
        text += f"; {result.allowed} known from the baseline"
    return text + ")"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_text(result: ScanResult) -> list[str]:
    lines = []
    for f in sorted(result.findings, key=lambda f: (f.path, f.line, f.kind)):
        where = f" (commit {f.commit[:12]})" if f.commit else ""
        lines.append(f"{f.path}:{f.line}: {f.kind}: {f.masked}{where}")
    return lines

