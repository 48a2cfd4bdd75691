"""Databricks personal access tokens (``dapi`` and 32 hex digits, optionally ``-N``)."""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class DatabricksTokenDetector(RegexBasedDetector):
    """Scans for Databricks tokens."""

    secret_type = "Databricks Token"  # noqa: S105 - a name, not a secret
    denylist = (re.compile(r"(?<![A-Za-z0-9])dapi[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9])"),)
