"""The directory prometheus-client's multiprocess mode shares between processes.

Kept apart from torale.observability.metrics so that `torale dev` can prepare it
without importing prometheus-client (whose mode is fixed at its first import).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_env(data_dir: Path) -> dict[str, str]:
    """For the processes `torale dev` starts: one shared directory, emptied now, since
    values left by an earlier run would be added to this one's. A directory already
    configured in the environment is the operator's and is left as it is."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        return {MULTIPROC_ENV: configured}
    directory = Path(data_dir).absolute() / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return {MULTIPROC_ENV: str(directory)}
