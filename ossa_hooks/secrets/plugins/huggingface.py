"""Hugging Face user access tokens (``hf_…``) and organisation tokens (``api_org_…``)."""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class HuggingFaceTokenDetector(RegexBasedDetector):
    """Scans for Hugging Face tokens."""

    secret_type = "Hugging Face Token"  # noqa: S105 - a name, not a secret
    denylist = (
        re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])"),
        re.compile(r"(?<![A-Za-z0-9_])api_org_[A-Za-z]{34}(?![A-Za-z0-9_])"),
    )
