"""npm access tokens (``npm_…``) wherever they appear.

detect-secrets' ``NpmDetector`` finds them only in ``.npmrc`` ``_authToken=`` lines.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class NpmAccessTokenDetector(RegexBasedDetector):
    """Scans for npm access tokens."""

    secret_type = "npm Access Token"  # noqa: S105 - a name, not a secret
    denylist = (re.compile(r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),)
