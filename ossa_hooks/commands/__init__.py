"""One module per sub-command: ``register(sub)`` adds its parser(s) with ``func`` set to the
function that runs it. Modules here import only argparse-level things at the top; the work is
imported inside ``main`` so ``--help`` and the hooks stay fast."""

from __future__ import annotations

import argparse
from typing import TypeAlias

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def emit(text: str, output: str | None) -> None:
    """``text`` (ending in one newline) into the file ``--output`` names, saying so, or on
    standard output."""
    body = text if text.endswith("\n") else text + "\n"
    if output:
        from pathlib import Path

        Path(output).write_text(body, encoding="utf-8")
        print(f"wrote {output}")
    else:
        print(body, end="")
