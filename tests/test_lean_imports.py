"""The API imports only what it serves: what workers need is loaded by the workers, and
what only some requests need is loaded by the first such request."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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

# Served, but loaded by the first request that needs them, so an idle API does not hold
# them (issue 12: idle RSS). Temporal's SDK (~17 MiB): task writes, manual runs, admin
# listings, /ready. httpx (~4.5 MiB with the CLI extras it pulls in): URL checks, test
# webhooks, JWT key fetches. jsonschema (~3 MiB): tasks that carry an output_schema.
LOADED_ON_FIRST_USE = (
    "temporalio",
    "torale.scheduling.scheduler",
    "torale.scheduling.spec",
    "torale.admin.temporal",
    "torale.executions.liveness",
    "httpx",
    "torale.net.transport",
    "torale.monitoring.providers.fetch",
    "torale.auth.jwks",
    "jsonschema",
    # `torale login`, `tasks`, ...: the client's commands, added when one is run.
    "torale.client_cli.commands",
)

# Never imported by the API, replaced by a few lines of ours: `limits` (its package
# imports storages and strategies, with `deprecated`, `wrapt` and `packaging`: ~1.3 MiB)
# for its rate-limit notation (torale.rate_limit_notation).
NOT_IMPORTED = ("limits", "deprecated", "wrapt", "packaging")

# Not installed at all: uvicorn's "standard" extra would bring watchfiles, which uvicorn
# imports at start-up for its reload supervisor (~1 MiB, and `torale api` never
# reloads), and websockets, which the API does not serve.
NOT_INSTALLED_WITH_UVICORN = ("watchfiles", "websockets")

# Imported by the first request that needs them, never by an idle API: ElementTree
# (~0.3 MiB) renders the Atom feeds.
LOADED_BY_THEIR_ROUTE = ("xml.etree",)

# Not imported by `torale api` as installed without the tracing extra: psutil (~0.8 MiB),
# which the embedded servers use. (With the extra, redis-py imports the OpenTelemetry
# SDK, and the SDK imports psutil.)
NOT_IMPORTED_WITHOUT_TRACING = ("psutil",)

# The embedded servers' code (`torale dev`, or a command run with a service left
# unconfigured; ~0.1 MiB): never loaded when every service is configured, as deployed.
EMBEDDED_SERVERS = (
    "torale.devstack.postgres",
    "torale.devstack.redis",
    "torale.devstack.temporal",
    "torale.devstack.server",
    "torale.devstack.binaries",
)

# What `torale api` imports and builds before it serves: the CLI, the services it is
# configured with, the app, its routes.
_PROBE = """
import json, os, sys, tempfile
from pathlib import Path
import uvicorn

os.environ.update(
    DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
    REDIS_URL="redis://127.0.0.1:1",
    TEMPORAL_ADDRESS="127.0.0.1:1",
)
import torale.cli

with torale.cli.services_for(Path(tempfile.mkdtemp())):
    pass
from torale.app import create_app
from torale.config import Settings

create_app(Settings(
    database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
    redis_url="redis://127.0.0.1:1",
    temporal_address="127.0.0.1:1",
))
print(json.dumps(sorted(sys.modules)))
"""


# The probe as a plain install runs it: the OpenTelemetry SDK (the tracing extra, in the
# dev environment) cannot be imported, as redis-py then finds.
_WITHOUT_TRACING = """
import sys
from importlib.abc import MetaPathFinder

class NoSdk(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry.sdk" or name.startswith("opentelemetry.sdk."):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, NoSdk())
"""


def _modules_after(probe: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert {"torale.app", "torale.graphql.schema", "sqlalchemy"} <= loaded  # the probe works
    return loaded


@pytest.fixture(scope="module")
def loaded_by_the_api() -> set[str]:
    return _modules_after(_PROBE)


@pytest.fixture(scope="module")
def loaded_without_tracing() -> set[str]:
    loaded = _modules_after(_WITHOUT_TRACING + _PROBE)
    assert "redis" in loaded and "opentelemetry.sdk" not in loaded  # the probe works
    return loaded


def _with_submodules(names: tuple[str, ...], loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


def test_the_api_does_not_import_worker_code(loaded_by_the_api):
    assert _with_submodules(WORKER_ONLY, loaded_by_the_api) == []


def test_the_api_loads_temporal_httpx_and_jsonschema_on_first_use(loaded_by_the_api):
    assert _with_submodules(LOADED_ON_FIRST_USE, loaded_by_the_api) == []


def test_the_api_does_not_import_limits(loaded_by_the_api):
    assert _with_submodules(NOT_IMPORTED, loaded_by_the_api) == []


def test_uvicorn_comes_without_its_reloader_and_websockets(loaded_by_the_api):
    assert "uvicorn.main" in loaded_by_the_api  # the probe imports what `torale api` runs
    assert _with_submodules(NOT_INSTALLED_WITH_UVICORN, loaded_by_the_api) == []


def test_the_api_with_its_services_configured_loads_no_embedded_server(loaded_by_the_api):
    assert _with_submodules(EMBEDDED_SERVERS, loaded_by_the_api) == []


def test_the_api_loads_elementtree_with_the_first_feed(loaded_by_the_api):
    assert _with_submodules(LOADED_BY_THEIR_ROUTE, loaded_by_the_api) == []


def test_the_api_without_the_tracing_extra_does_not_import_psutil(loaded_without_tracing):
    assert _with_submodules(NOT_IMPORTED_WITHOUT_TRACING, loaded_without_tracing) == []
