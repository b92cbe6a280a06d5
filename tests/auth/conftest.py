"""An OIDC issuer on loopback and an API process that trusts it."""

from __future__ import annotations

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
    from tests.helpers import app_client

    async with app_client(jwt_settings(settings, issuer.url + "/jwks")) as (_, client):
        yield client
