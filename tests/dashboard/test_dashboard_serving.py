"""How `/app` is served: from the package, with its headers, and its sign-in config."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import httpx

from torale.app import create_app
from torale.dashboard import mount
from torale.dashboard.mount import STATIC_DIR, closed_set_types

ROOT = Path(__file__).resolve().parents[2]
# What schema.graphql declares today; the pages adapt when it changes (below).
TYPES_NOW = closed_set_types((ROOT / "schema.graphql").read_text())

ENUM_SDL = """
enum TaskState { ACTIVE PAUSED COMPLETED }
enum NotifyBehavior { ONCE ALWAYS TRACK_STATE }
type Task { id: ID! }
input UpdateTaskInput { state: TaskState notify_behavior: NotifyBehavior }
type Query { tasks(state: TaskState = null, page: Int! = 1): [Task!]! }
"""


async def test_index_modules_and_headers(client) -> None:
    redirect = await client.get("/app")
    assert redirect.status_code == 307 and redirect.headers["location"] == "/app/"

    index = await client.get("/app/")
    assert index.status_code == 200
    assert '<script type="module" src="./js/main.js">' in index.text
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["x-content-type-options"] == "nosniff"

    module = await client.get("/app/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert (await client.get("/app/js/nope.js")).status_code == 404
    assert (await client.get("/app/../torale/config.py")).status_code == 404


async def test_config_is_made_by_its_first_request_not_at_start_up(settings, monkeypatch) -> None:
    """Reading the types builds a second schema: an API nobody opens the dashboard of
    never does (idle memory, issue 12)."""
    made: list[int] = []
    real = mount.dashboard_config

    def counting(*args: Any) -> dict[str, Any]:
        made.append(1)
        return real(*args)

    monkeypatch.setattr(mount, "dashboard_config", counting)
    app = create_app(settings)
    assert made == []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        first = (await http.get("/app/config.json")).json()
        again = (await http.get("/app/config.json")).json()
    assert first == again == {"oidc": None, "types": TYPES_NOW}
    assert made == [1]


async def test_config_names_oidc_only_when_issuer_and_client_are_set(client, settings) -> None:
    assert (await client.get("/app/config.json")).json() == {"oidc": None, "types": TYPES_NOW}

    configured = create_app(
        settings.model_copy(
            update={
                "jwt_issuer": "https://login.example.com/",
                "jwt_jwks_url": "https://login.example.com/jwks",
                "oidc_client_id": "dash",
            }
        )
    )
    transport = httpx.ASGITransport(app=configured)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        config = (await http.get("/app/config.json")).json()
        csp = (await http.get("/app/")).headers["content-security-policy"]
    assert config["oidc"] == {
        "issuer": "https://login.example.com",
        "client_id": "dash",
        "scope": "openid email profile",
    }
    assert "connect-src 'self' https://login.example.com;" in csp


def test_every_static_file_ships_in_the_package() -> None:
    """pyproject's package-data globs cover every file the pages load (a wheel install
    would otherwise serve 404s)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["torale.dashboard"]
    files = [
        p.relative_to(STATIC_DIR.parent).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()
    ]
    assert files
    missing = [
        f for f in files if not any(fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)
    ]
    assert not missing, f"not in package-data: {missing}"


def test_every_module_import_resolves() -> None:
    """A typo in an import path breaks the whole page at load; check them all here."""
    pattern = re.compile(r'^import .* from "(\.[^"]+)";$|^} from "(\.[^"]+)";$', re.M)
    for module in STATIC_DIR.rglob("*.js"):
        for match in pattern.finditer(module.read_text()):
            target = (module.parent / (match.group(1) or match.group(2))).resolve()
            assert target.is_file(), f"{module.name} imports missing {target}"


def test_closed_set_types_follow_the_schema() -> None:
    assert closed_set_types(ENUM_SDL) == {
        "TaskState": {"type": "TaskState", "enum": True},
        "NotifyBehavior": {"type": "NotifyBehavior", "enum": True},
    }
    plain = ENUM_SDL.replace("state: TaskState", "state: String").replace(
        "notify_behavior: NotifyBehavior", "notify_behavior: String"
    )
    assert closed_set_types(plain) == {
        "TaskState": {"type": "String", "enum": False},
        "NotifyBehavior": {"type": "String", "enum": False},
    }
