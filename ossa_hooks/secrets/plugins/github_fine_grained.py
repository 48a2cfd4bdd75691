"""GitHub fine-grained personal access tokens (``github_pat_…``).

detect-secrets' ``GitHubTokenDetector`` knows the classic ``ghp_``/``gho_``/… forms only.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """Scans for GitHub fine-grained tokens."""

    secret_type = "GitHub Fine-grained Token"  # noqa: S105 - a name, not a secret
    denylist = (re.compile(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])"),)
