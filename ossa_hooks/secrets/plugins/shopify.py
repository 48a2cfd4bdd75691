"""Shopify access tokens: admin (``shpat_``), custom app (``shpca_``), private app (``shppa_``)
and shared secrets (``shpss_``)."""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class ShopifyTokenDetector(RegexBasedDetector):
    """Scans for Shopify tokens."""

    secret_type = "Shopify Token"  # noqa: S105 - a name, not a secret
    denylist = (re.compile(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![a-fA-F0-9])"),)
