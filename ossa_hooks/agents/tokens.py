"""Counting tokens with tiktoken, offline: the ``cl100k_base`` encoding ships with the
package and is checked against the hash tiktoken publishes before it is used."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ossa_hooks.errors import OssaError

# Encodings shipped with the package: file name and the SHA-256 tiktoken publishes for it
# (tiktoken_ext/openai_public.py), so a damaged or swapped file is refused, never used.
_OFFLINE: Mapping[str, tuple[str, str]] = {
    "cl100k_base": (
        "cl100k_base.tiktoken.gz",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
# What tiktoken's own constructor for cl100k_base uses beside the ranks.
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def encodings_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "encodings"


def offline_ranks(name: str) -> dict[bytes, int]:
    """The BPE ranks of a shipped encoding, checked against tiktoken's published hash."""
    import base64
    import gzip
    import hashlib

    file_name, sha256 = _OFFLINE[name]
    path = encodings_dir() / file_name
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise OssaError(
            f"{path}: cannot read the shipped encoding ({e}); reinstall ossa-hooks"
        ) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise OssaError(f"{path}: does not match tiktoken's published hash; reinstall ossa-hooks")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=4)
def encoding(name: str) -> Any:
    """A tiktoken ``Encoding``: the shipped copy for cl100k_base, tiktoken's loader otherwise."""
    try:
        import tiktoken
    except ImportError:
        raise OssaError("tiktoken is not installed: pip install tiktoken") from None
    if name in _OFFLINE:
        return tiktoken.Encoding(
            name=name,
            pat_str=_CL100K_PAT,
            mergeable_ranks=offline_ranks(name),
            special_tokens=dict(_CL100K_SPECIAL),
        )
    try:
        return tiktoken.get_encoding(name)
    except ValueError:
        raise OssaError(
            f"budget.encoding: unknown tiktoken encoding '{name}' (shipped offline: "
            f"{', '.join(_OFFLINE)})"
        ) from None
    except Exception as e:  # noqa: BLE001 - tiktoken raises whatever its download raised
        raise OssaError(
            f"budget.encoding: '{name}' is not shipped with ossa-hooks and could not be downloaded "
            f"({type(e).__name__}); use budget.encoding: cl100k_base"
        ) from None


def count_tokens(text: str, encoding_name: str = "cl100k_base") -> int:
    """Tokens of ``text``; special-token markers in agent text count as plain text."""
    if not text:
        return 0
    return len(encoding(encoding_name).encode(text, disallowed_special=()))
