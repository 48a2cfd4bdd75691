"""Where the shipped ``hooks/`` and ``templates/`` folders are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

from ossa_hooks.errors import OssaError


def data_dir(name: str) -> Path:
    """``hooks`` or ``templates``: inside the wheel (``ossa_hooks/_data``) or beside the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise OssaError(f"ossa-hooks is installed without its {name}/ folder: reinstall ossa-hooks")


def template(relative: str) -> Path:
    return data_dir("templates") / relative
