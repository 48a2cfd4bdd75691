"""Google API keys (``AIza…``): Maps, Firebase, Cloud and the other key-based Google APIs."""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class GoogleApiKeyDetector(RegexBasedDetector):
    """Scans for Google API keys."""

    secret_type = "Google API Key"  # noqa: S105 - a name, not a secret
    denylist = (re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),)
