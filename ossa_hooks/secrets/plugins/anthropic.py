"""Anthropic API and admin keys (``sk-ant-api03-…``, ``sk-ant-admin01-…``)."""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class AnthropicDetector(RegexBasedDetector):
    """Scans for Anthropic API keys."""

    secret_type = "Anthropic API Key"  # noqa: S105 - a name, not a secret
    denylist = (re.compile(r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,110}(?![A-Za-z0-9_\-])"),)
