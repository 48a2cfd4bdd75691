"""OpenAI project, service-account and admin keys (``sk-proj-…``, ``sk-svcacct-…``, ``sk-admin-…``).

detect-secrets' ``OpenAIDetector`` knows the legacy ``sk-…T3BlbkFJ…`` form only.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """Scans for OpenAI project keys."""

    secret_type = "OpenAI Project Key"  # noqa: S105 - a name, not a secret
    denylist = (
        re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,200}(?![A-Za-z0-9_\-])"),
    )
