"""Imports point one way: down the layers of `LAYERS`, never back up.

The graph of `torale/` and `workers/` is read from the source (`ast`), not by importing
it. Every import counts, wherever it is written: at the top of a module, inside a
function (a lazy import only postpones the dependency; it does not change which way it
points) or under `TYPE_CHECKING`. A module may import

- any module of a lower layer, and any module of its own layer, except that
- a domain (layer "domains") may import only the domains listed after it in `DOMAINS`
  (so two domains never import each other), and
- a door (a domain's GraphQL or REST module) may import every domain, but no other
  domain's door: one domain reaches another through its services, never through its
  GraphQL module. Shared GraphQL types live in `torale.graphql`.

Composition roots (the app, the CLI, the assembled schema, the worker processes) may
import anything.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "torale"
# The packages whose modules make the graph: the server and its worker processes.
PACKAGES = ("torale", "workers")

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The client SDK and its CLI: an independent library, it imports nothing of the server.
    ("sdk", ("torale.client", "torale.client_cli")),
    # Settings, errors and helpers every layer uses.
    (
        "base",
        (
            "torale.config",
            "torale.errors",
            "torale.models_base",
            "torale.provider_settings",
            "torale.input_limits",
            "torale.log_setup",
            "torale.db",
            "torale.bounded",
            "torale.db_json",
            "torale.db_outage",
            "torale.driver_reads",
            "torale.net",
            "torale.pagination",
            "torale.ratelimit",
            "torale.rate_limit_notation",
            "torale.secret_box",
            "torale.observability",
        ),
    ),
    # Every domain's tables and enums: the data the domains share.
    ("tables", ("torale.models",)),  # and each domain's `models` module (below)
    # Serving a request: who calls, its context and unit of work, the GraphQL pipeline,
    # HTTP plumbing, Temporal schedules and the process's shared resources.
    (
        "platform",
        ("torale.auth", "torale.graphql", "torale.http", "torale.scheduling", "torale.runtime"),
    ),
    ("domains", ()),  # DOMAINS, in their own order
    ("doors", ()),  # each domain's GraphQL and REST modules (DOOR_NAMES)
    # Composition roots: they assemble everything.
    (
        "roots",
        (
            "torale",  # the package itself (re-exports the SDK)
            "torale.__main__",
            "torale.app",
            "torale.cli",
            "torale.dashboard",
            "torale.devstack",
            "torale.graphql.schema",
            "torale.graphql.export",
            "torale.graphql.compat",
            "torale.observability.api",
            "torale.observability.metrics_http",
            "workers",  # the worker processes: Temporal activities, the Dramatiq actor
        ),
    ),
)

# A domain may import the domains after it, never those before it.
DOMAINS = (
    "admin",
    "feeds",
    "executions",
    "tasks",
    "webhooks",
    "notifications",
    "monitoring",
    "users",
)
# A domain's modules that are the API's doors (`torale.<domain>.<name>`).
DOOR_NAMES = frozenset({"graphql", "graphql_inputs", "transfer_graphql", "rest"})

RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


@dataclass(frozen=True)
class Place:
    layer: str
    domain: str | None = None  # for domains and doors


def place(module: str) -> Place:
    parts = module.split(".")
    if parts[0] == "torale" and len(parts) >= 2 and parts[1] in DOMAINS:
        domain = parts[1]
        if len(parts) >= 3 and parts[2] == "models":
            return Place("tables")
        if len(parts) >= 3 and parts[2] in DOOR_NAMES:
            return Place("doors", domain)
        return Place("domains", domain)
    named = [
        (len(prefix), layer)
        for layer, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not named:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")
    return Place(max(named)[1])


def forbidden(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    src, dst = place(importer), place(imported)
    if src.layer == "roots":
        return None
    if RANK[dst.layer] > RANK[src.layer]:
        return f"{src.layer} may not import {dst.layer}"
    if src.domain is None or dst.domain is None or src.domain == dst.domain:
        return None
    if dst.layer == "doors":
        return f"a domain reaches {dst.domain} through its services, not its {imported}"
    if src.layer == "domains" and DOMAINS.index(dst.domain) < DOMAINS.index(src.domain):
        return f"domain {src.domain} may not import {dst.domain}, a domain above it in DOMAINS"
    return None


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module of `PACKAGES` that `path` imports, anywhere in it."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            # `from torale.tasks import service` imports the module torale.tasks.service.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if _is_module(candidate, root):
                    found.add(candidate)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _is_module(name: str, root: Path) -> bool:
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph() -> dict[str, set[str]]:
    paths = [p for package in PACKAGES for p in sorted((ROOT.parent / package).rglob("*.py"))]
    return {module_name(path): imports_of(path) for path in paths}


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for importer, imported in sorted(graph.items()):
        for target in sorted(imported):
            reason = forbidden(importer, target)
            if reason is not None:
                found.append(f"{importer} -> {target}: {reason}")
    return found


def test_imports_point_down_the_layers() -> None:
    found = violations(import_graph())
    assert not found, "imports against the layers (see LAYERS in this file):\n" + "\n".join(found)


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        place(module)


@pytest.mark.parametrize(
    ("importer", "imported", "reason"),
    [
        ("torale.http.deps", "torale.tasks.service", "platform may not import domains"),
        ("torale.config", "torale.monitoring.providers.factory", "base may not import domains"),
        ("torale.db", "torale.auth.subject", "base may not import platform"),
        ("torale.graphql.enums", "torale.app", "platform may not import roots"),
        ("torale.client.resources", "torale.config", "sdk may not import base"),
        ("torale.monitoring.evaluation", "torale.tasks.service", "domain monitoring may not"),
        ("torale.tasks.graphql", "torale.executions.graphql", "through its services"),
        ("torale.tasks.rest", "torale.webhooks.rest", "through its services"),
        ("torale.tasks.service", "torale.tasks.graphql", "domains may not import doors"),
        ("torale.tasks.health", "workers.execution_steps", "domains may not import roots"),
    ],
)
def test_a_forbidden_arrow_is_reported(importer: str, imported: str, reason: str) -> None:
    graph = {importer: {imported}}
    [message] = violations(graph)
    assert message.startswith(f"{importer} -> {imported}: ") and reason in message


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("torale.tasks.service", "torale.webhooks.service"),  # down the domains
        ("torale.tasks.graphql", "torale.executions.service"),  # a door, another's service
        ("torale.webhooks.delivery", "torale.tasks.models"),  # any domain's tables
        ("torale.graphql.enums", "torale.tasks.models"),
        ("torale.graphql.schema", "torale.tasks.graphql"),  # the composition root
        ("torale.tasks.graphql", "torale.tasks.graphql_inputs"),  # its own door
    ],
)
def test_an_allowed_arrow_is_not_reported(importer: str, imported: str) -> None:
    assert violations({importer: {imported}}) == []


def test_imports_inside_functions_count(tmp_path: Path) -> None:
    source = tmp_path / "torale" / "db.py"
    source.parent.mkdir()
    source.write_text(
        "import typing\n"
        "if typing.TYPE_CHECKING:\n    from torale.auth import subject\n"
        "def later():\n    from torale.tasks.service import create_task\n"
    )
    found = imports_of(source, tmp_path / "torale")
    assert found == {"torale.auth", "torale.tasks.service"}
    assert len(violations({"torale.db": found})) == 2
