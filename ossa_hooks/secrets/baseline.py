"""``.secrets.baseline``: known findings, in detect-secrets' own file format.

The file is what ``detect-secrets scan`` writes (version, plugins_used, filters_used, results
keyed by file, each result with ``type``, ``hashed_secret``, ``line_number``…), so
``detect-secrets audit .secrets.baseline`` works on it, and a baseline detect-secrets wrote is
read here. A finding is known when the baseline has the same file and the same hashed secret
(line numbers move; the value does not). Labels set by ``audit`` (``is_secret``) are kept when
the baseline is rewritten.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from ossa_hooks.errors import OssaError

if TYPE_CHECKING:
    from ossa_hooks.secrets.engine import Finding

_FIX = "fix it, or delete it and run `ossa-hooks scan --update-baseline`"


@dataclass(frozen=True, slots=True)
class Baseline:
    path: Path
    data: dict[str, Any]
    known: frozenset[tuple[str, str]]

    def allows(self, finding: Finding) -> bool:
        return (finding.path, finding.hashed) in self.known


def _shown(path: Path) -> str:
    """The baseline's path as the user would type it: relative when under the current folder."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def load(where: str | os.PathLike[str]) -> Baseline | None:
    """The baseline at ``where``; None when there is none; exit 2 naming the file when corrupt."""
    path = Path(where)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OssaError(f"{_shown(path)}: cannot read the secrets baseline: {e.strerror}") from None
    name = _shown(path)
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        where = f" (line {e.lineno})" if isinstance(e, json.JSONDecodeError) else ""
        raise OssaError(
            f"{name}: not a valid secrets baseline: invalid JSON{where}; {_FIX}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise OssaError(f"{name}: not a valid secrets baseline: no \"results\" object; {_FIX}")
    known: set[tuple[str, str]] = set()
    for filename, items in data["results"].items():
        if not isinstance(items, list):
            raise OssaError(f"{name}: not a valid secrets baseline: results of {filename!r} "
                            f"is not a list; {_FIX}")
        for item in items:
            hashed = item.get("hashed_secret") if isinstance(item, dict) else None
            if not isinstance(hashed, str) or not hashed:
                raise OssaError(f"{name}: not a valid secrets baseline: a result of {filename!r} "
                                f"has no hashed_secret; {_FIX}")
            known.add((filename, hashed))
    return Baseline(path, data, frozenset(known))


def build(findings: Iterable[Finding], previous: Baseline | None, scanned: set[str],
          *, everything: bool, filename: str,
          still_found: Callable[[str], dict[str, int]] | None = None) -> dict[str, Any]:
    """The new baseline: the findings of the scanned files, plus the previous baseline's results
    for files this scan did not look at (all of them dropped when ``everything`` was scanned).
    Audit labels (``is_secret``) carry over for the same file and value.

    A previous entry this scan does not produce (detect-secrets' own plugins find things
    ossa-hooks does not) is kept while ``still_found(file)`` (detect-secrets' scan of the file:
    hashed secret -> line) still reports it, so ``detect-secrets-hook --baseline`` keeps
    accepting the file; an entry whose secret is gone from the file is dropped."""
    old_results: dict[str, list[dict[str, Any]]] = previous.data["results"] if previous else {}
    labels = {
        (fname, item["hashed_secret"]): item["is_secret"]
        for fname, items in old_results.items()
        for item in items
        if "is_secret" in item
    }
    results: dict[str, list[dict[str, Any]]] = {}
    if not everything:
        for fname, items in old_results.items():
            if fname not in scanned:
                results[fname] = list(items)
    findings = list(findings)
    ours = {(f.path, f.hashed) for f in findings}
    for fname, items in old_results.items():
        if fname in results:
            continue
        theirs = [i for i in items if (fname, i.get("hashed_secret")) not in ours]
        if not theirs or still_found is None:
            continue
        now = still_found(fname)
        for kept in theirs:
            line = now.get(str(kept.get("hashed_secret")))
            if line is not None:
                results.setdefault(fname, []).append({**kept, "line_number": line})
    seen: set[tuple[str, str, str]] = set()
    ds_types = _ds_secret_types()
    for f in sorted(findings, key=lambda f: (f.path, f.line, f.kind)):
        key = (f.path, f.hashed, f.kind)
        if key in seen:
            continue
        seen.add(key)
        item: dict[str, Any] = {
            "type": f.kind,
            "filename": f.path,
            "hashed_secret": f.hashed,
            "is_verified": False,
            "line_number": f.line,
        }
        if f.kind not in ds_types or _ds_sees_less(ds_types.get(f.kind), f.secret):
            # detect-secrets' audit stops at a type it has no plugin for (and it does not
            # load plugins named by path before it needs them), so a provider it lacks is
            # recorded under the high-entropy type, whose plugin finds the same value again;
            # the real kind stays beside it.
            hexish = all(c in "0123456789abcdefABCDEF" for c in f.secret)
            item["type"] = "Hex High Entropy String" if hexish else "Base64 High Entropy String"
            item["ossa_kind"] = f.kind
        if (f.path, f.hashed) in labels:
            item["is_secret"] = labels[(f.path, f.hashed)]
        results.setdefault(f.path, []).append(item)
    for items in results.values():
        items.sort(key=lambda i: (i.get("line_number", 0), str(i.get("type"))))
    return {
        "version": _ds_version(),
        **_settings(filename),
        "results": dict(sorted(results.items())),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (a reader never sees half a file)."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-baseline-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _ds_version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    try:
        return version("detect-secrets")
    except PackageNotFoundError:
        return "1.5.0"


def _ds_secret_types() -> dict[str, Any]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return dict(get_mapping_from_secret_type_to_class())


def _ds_sees_less(plugin_class: Any, value: str) -> bool:
    """True when detect-secrets' own plugin reports only part of ``value`` (its GitHub plugin
    reports "ghp" for a whole token), so its audit would not find the recorded hash."""
    if plugin_class is None or plugin_class.secret_type in _KEEP_TYPES:
        return False
    try:
        seen = set(plugin_class().analyze_string(value))
    except Exception:  # noqa: BLE001 - a plugin needing arguments: keep its type
        return False
    return any(v != value and v in value for v in seen)


_KEEP_TYPES = frozenset({"Secret Keyword", "Base64 High Entropy String",
                         "Hex High Entropy String"})


def _settings(filename: str) -> dict[str, Any]:
    """``plugins_used`` and ``filters_used`` as detect-secrets writes them by default."""
    from detect_secrets.settings import default_settings

    with default_settings() as settings:
        data: dict[str, Any] = settings.json()
    data["filters_used"] = [
        {**f, "filename": filename} if f.get("path", "").endswith("is_baseline_file") else f
        for f in data["filters_used"]
    ]
    if not any(f.get("path", "").endswith("is_baseline_file") for f in data["filters_used"]):
        data["filters_used"].append(
            {"path": "detect_secrets.filters.common.is_baseline_file", "filename": filename}
        )
    return data


def detect_secrets_findings(root: str | os.PathLike[str]) -> Callable[[str], dict[str, int]]:
    """A ``still_found`` for ``build``: detect-secrets' own scan (default settings) of one file
    of the working tree at ``root``, as hashed secret -> line number."""

    def scan(filename: str) -> dict[str, int]:
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import default_settings

        path = os.path.join(os.fspath(root), filename)
        if not os.path.isfile(path):
            return {}
        out: dict[str, int] = {}
        with default_settings():
            for secret in scan_file(path):
                out.setdefault(secret.secret_hash, secret.line_number)
        return out

    return scan
