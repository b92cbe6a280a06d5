"""The API imports only what it serves: what workers need is loaded by the workers."""

from __future__ import annotations

import json
import subprocess
import sys

# Loaded by the code that needs them (page extraction, the providers, redelivery,
# webhook secrets, JWT verification), never by importing the API or `torale api`.
WORKER_ONLY = (
    "trafilatura",
    "lxml",
    "temporalio.worker",
    "workers",
    "dramatiq",
    "torale.monitoring.providers.factory",
    "torale.monitoring.providers.llm",
    "torale.monitoring.providers.search",
    "torale.monitoring.evaluation",
    "cryptography.hazmat.bindings._rust",
    "joserfc.jwk",
)


def test_the_api_does_not_import_worker_code():
    probe = (
        "import json, sys, torale.cli, torale.app; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            ).stdout
        )
    )
    assert "torale.app" in loaded and "temporalio.client" in loaded  # the probe works
    assert sorted(m for m in WORKER_ONLY if m in loaded) == []
