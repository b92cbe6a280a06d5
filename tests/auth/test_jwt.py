"""JWT verification against a real JWKS server on 127.0.0.1 with tokens minted here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from tests.jwks import JWKSServer
from torale.auth.jwks import JWKSCache
from torale.auth.jwt import (
    Claims,
    JWTVerifier,
    is_admin_claim,
    jwt_verifier_from_settings,
    looks_like_jwt,
)
from torale.errors import Unauthenticated

ISSUER = "https://clerk.example.test"
AUDIENCE = "torale-frontend"

RSA1 = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
RSA2 = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
EC1 = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
STRANGER = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})  # same kid, other key


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def server(jwks_server: JWKSServer) -> JWKSServer:
    jwks_server.keys = [RSA1, EC1]
    jwks_server.jwks_requests = 0
    return jwks_server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(server: JWKSServer, http: httpx.AsyncClient, clock: FakeClock) -> JWTVerifier:
    cache = JWKSCache(server.url + "/jwks", http, min_refresh_interval=30, clock=clock)
    return JWTVerifier(cache, issuer=ISSUER, audience=AUDIENCE, leeway=30)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user_123",
        "email": "ada@example.com",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(key: Any, alg: str = "RS256", kid: str | None = None, **overrides: Any) -> str:
    header = {"alg": alg, "kid": kid or key.kid}
    return jwt.encode(header, claims(**overrides), key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def refused(verifier: JWTVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify(token)
    return info.value.message


async def test_valid_rs256_and_es256(verifier: JWTVerifier, server: JWKSServer) -> None:
    for token in (mint(RSA1), mint(EC1, alg="ES256")):
        result = await verifier.verify(token)
        assert isinstance(result, Claims)
        assert result.sub == "user_123"
        assert result.email == "ada@example.com"
    assert server.jwks_requests == 1  # cached after the first token


async def test_issuer_discovery(server: JWKSServer, http: httpx.AsyncClient) -> None:
    cache = JWKSCache(None, http, issuer=server.url)
    verifier = JWTVerifier(cache, issuer=ISSUER)
    assert (await verifier.verify(mint(RSA1))).sub == "user_123"
    assert cache.jwks_url == server.url + "/jwks"


async def test_expired(verifier: JWTVerifier) -> None:
    past = int(time.time()) - 600
    token = mint(RSA1, exp=past, iat=past - 60, nbf=past - 60)
    assert await refused(verifier, token) == "Token has expired"


async def test_leeway_accepts_small_clock_skew(verifier: JWTVerifier) -> None:
    now = int(time.time())
    assert await verifier.verify(mint(RSA1, exp=now - 10, nbf=now + 10, iat=now + 10))


async def test_nbf_in_the_future(verifier: JWTVerifier) -> None:
    later = int(time.time()) + 600
    token = mint(RSA1, nbf=later, iat=None, exp=later + 300)
    assert await refused(verifier, token) == "Invalid token: not yet valid"


async def test_wrong_issuer(verifier: JWTVerifier) -> None:
    assert await refused(verifier, mint(RSA1, iss="https://evil.test")) == (
        "Invalid token: wrong issuer"
    )


async def test_wrong_audience(verifier: JWTVerifier) -> None:
    assert await refused(verifier, mint(RSA1, aud="someone-else")) == (
        "Invalid token: wrong audience"
    )


async def test_missing_claims(verifier: JWTVerifier) -> None:
    assert await refused(verifier, mint(RSA1, exp=None)) == "Invalid token: missing claim exp"
    assert await refused(verifier, mint(RSA1, sub=None)) == "Invalid token: missing claim sub"


async def test_bad_signature(verifier: JWTVerifier) -> None:
    # Signed by a key the issuer never published, under a kid the issuer did publish.
    assert await refused(verifier, mint(STRANGER)) == "Invalid token: bad signature"
    # An expired token with a forged signature is not reported as merely expired.
    past = int(time.time()) - 600
    token = mint(STRANGER, exp=past, iat=past, nbf=past)
    assert await refused(verifier, token) == "Invalid token: bad signature"
    # Tampered payload on a genuine signature.
    head, _, sig = mint(RSA1).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    assert await refused(verifier, f"{head}.{forged}.{sig}") == "Invalid token: bad signature"


async def test_alg_none_refused(verifier: JWTVerifier) -> None:
    head = b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims()).encode())
    assert (await refused(verifier, f"{head}.{body}.")).startswith("Invalid token")
    assert await refused(verifier, f"{head}.{body}.AAAA") == "Invalid token: algorithm not allowed"


async def test_hs256_with_public_key_as_secret_refused(verifier: JWTVerifier) -> None:
    public_pem = RSA1.as_pem(private=False)
    head = b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims()).encode())
    signing_input = f"{head}.{body}".encode()
    sig = b64(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    assert await refused(verifier, f"{head}.{body}.{sig}") == "Invalid token: algorithm not allowed"


async def test_es256_header_on_rsa_kid_refused(verifier: JWTVerifier) -> None:
    # alg/key-type confusion: the kid names an RSA key but the header says ES256.
    token = mint(EC1, alg="ES256", kid="rsa-1")
    assert await refused(verifier, token) == "Invalid token: unknown signing key"


async def test_unknown_kid_refreshes_once_then_rotation_works(
    verifier: JWTVerifier, server: JWKSServer, clock: FakeClock
) -> None:
    await verifier.verify(mint(RSA1))
    assert server.jwks_requests == 1

    # The issuer rotates: rsa-2 is published and tokens are signed with it.
    server.keys = [RSA2, EC1]
    clock.now += 31  # past min_refresh_interval since the first fetch
    assert (await verifier.verify(mint(RSA2))).sub == "user_123"
    assert server.jwks_requests == 2
    # Known kids are served from the cache.
    for _ in range(5):
        await verifier.verify(mint(RSA2))
    assert server.jwks_requests == 2


async def test_unknown_kids_do_not_storm_the_jwks_endpoint(
    verifier: JWTVerifier, server: JWKSServer, clock: FakeClock
) -> None:
    await verifier.verify(mint(RSA1))
    assert server.jwks_requests == 1
    clock.now += 31  # the next unknown kid may refresh once

    bogus = [mint(STRANGER, kid=f"made-up-{i}") for i in range(50)]
    results = await asyncio.gather(*(verifier.verify(t) for t in bogus), return_exceptions=True)
    assert all(isinstance(r, Unauthenticated) for r in results)
    assert {r.message for r in results} == {"Invalid token: unknown signing key"}
    assert server.jwks_requests == 2  # fifty concurrent tokens, one coalesced refresh

    for token in bogus[:10]:
        await refused(verifier, token)
    assert server.jwks_requests == 2  # still inside min_refresh_interval

    # Even a genuine rotation waits for the interval; after it, the new key works.
    server.keys = [RSA2]
    assert await refused(verifier, mint(RSA2)) == "Invalid token: unknown signing key"
    clock.now += 31
    assert (await verifier.verify(mint(RSA2))).sub == "user_123"
    assert server.jwks_requests == 3


async def test_ttl_expiry_refetches(
    verifier: JWTVerifier, server: JWKSServer, clock: FakeClock
) -> None:
    await verifier.verify(mint(RSA1))
    clock.now += 3601
    await verifier.verify(mint(RSA1))
    assert server.jwks_requests == 2


async def test_outage_keeps_cached_keys(server: JWKSServer, http: httpx.AsyncClient) -> None:
    clock = FakeClock()
    cache = JWKSCache(server.url + "/jwks", http, ttl=60, clock=clock)
    verifier = JWTVerifier(cache, issuer=ISSUER)
    await verifier.verify(mint(RSA1))
    cache.jwks_url = server.url + "/gone"  # the provider now answers 404
    clock.now += 61
    assert (await verifier.verify(mint(RSA1))).sub == "user_123"


async def test_garbage_tokens(verifier: JWTVerifier) -> None:
    for token in ("", "abc", "a.b.c", "sk_" + "a" * 32, "x" * 20000):
        assert (await refused(verifier, token)).startswith("Invalid token")


def test_looks_like_jwt() -> None:
    assert looks_like_jwt(mint(RSA1))
    assert not looks_like_jwt("sk_" + "A" * 32)
    assert not looks_like_jwt("not.a.jwt")
    assert not looks_like_jwt("only-one-part")


async def test_admin_claim(verifier: JWTVerifier) -> None:
    admin = await verifier.verify(mint(RSA1, public_metadata={"role": "admin"}))
    user = await verifier.verify(mint(RSA1, public_metadata={"role": "member"}))
    plain = await verifier.verify(mint(RSA1))
    assert is_admin_claim(admin)
    assert not is_admin_claim(user)
    assert not is_admin_claim(plain)
    assert is_admin_claim({"roles": ["x", "admin"]}, path="roles")
    assert is_admin_claim({"org": {"perm": "owner"}}, path="org.perm", value="owner")
    assert not is_admin_claim({"public_metadata": "admin"})


def test_keyset_roundtrip_is_public_only() -> None:
    # The server publishes public keys only; the test relies on that for the bad-signature case.
    ks = KeySet.import_key_set({"keys": [RSA1.as_dict(private=False)]})
    assert not ks.keys[0].is_private


async def test_verifier_from_settings(server: JWKSServer, http: httpx.AsyncClient) -> None:
    assert jwt_verifier_from_settings(SimpleNamespace(), http) is None
    by_url = jwt_verifier_from_settings(
        SimpleNamespace(jwt_issuer=None, jwt_jwks_url=server.url + "/jwks", jwt_audience=AUDIENCE),
        http,
    )
    assert by_url is not None
    assert (await by_url.verify(mint(RSA1))).sub == "user_123"
    assert await refused(by_url, mint(RSA1, aud="other")) == "Invalid token: wrong audience"
    by_issuer = jwt_verifier_from_settings(SimpleNamespace(jwt_issuer=ISSUER), http)
    assert by_issuer is not None and by_issuer.issuer == ISSUER
