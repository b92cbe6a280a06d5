"""An OIDC issuer on loopback and an API process that trusts it."""

from __future__ import annotations

import httpx
import pytest

from tests.auth.oidc import KEY, jwt_settings
from tests.jwks import JWKSServer


@pytest.fixture(scope="module")
def issuer():
    server = JWKSServer()
    server.keys = [KEY]
    yield server
    server.close()


@pytest.fixture
async def http(settings, issuer):
    from torale.app import create_app

    app = create_app(jwt_settings(settings, issuer.url + "/jwks"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client
