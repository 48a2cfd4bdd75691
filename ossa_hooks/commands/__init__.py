"""One module per sub-command: ``register(sub)`` adds its parser(s) with ``func`` set to the
function that runs it. Modules here import only argparse-level things at the top; the work is
imported inside ``main`` so ``--help`` and the hooks stay fast."""

from __future__ import annotations

import argparse
from typing import TypeAlias

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
