"""Stripe secret and restricted keys of every mode and length (``sk_``/``rk_`` +
``live``/``test``/``prod``).

detect-secrets' ``StripeDetector`` knows live keys of the old 24-character length only.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class StripeKeyDetector(RegexBasedDetector):
    """Scans for Stripe secret and restricted keys."""

    secret_type = "Stripe Secret Key"  # noqa: S105 - a name, not a secret
    denylist = (
        re.compile(r"(?<![A-Za-z0-9])[rs]k_(?:live|test|prod)_[0-9a-zA-Z]{24,247}(?![0-9a-zA-Z])"),
    )
