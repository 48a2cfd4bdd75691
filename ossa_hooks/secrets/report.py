"""SARIF 2.1.0 output of secret findings, uploadable to GitHub code scanning."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import quote

from ossa_hooks import __version__

if TYPE_CHECKING:
    from ossa_hooks.secrets.engine import Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def rule_id(kind: str) -> str:
    """A stable rule id for a secret type: "AWS Access Key" -> "secret/aws-access-key"."""
    return "secret/" + re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")


def _fingerprint(f: Finding) -> str:
    import hashlib

    return hashlib.sha256(f"{f.path}\0{f.kind}\0{f.hashed}".encode("utf-8", "replace")).hexdigest()


def sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    kinds = sorted({f.kind for f in findings})
    rules = [
        {
            "id": rule_id(k),
            "name": re.sub(r"[^A-Za-z0-9]+", "", k.title()),
            "shortDescription": {"text": f"Possible secret: {k}"},
            "fullDescription": {"text": f"A value that looks like a {k} was committed."},
            "help": {"text": "Revoke the secret, remove it from the history, and read it from "
                             "the environment or a secret store instead. Not a secret? Add a "
                             "`pragma: allowlist secret` comment to the line or record it with "
                             "`ossa-hooks scan --update-baseline`."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secret"]},
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
