"""The identity provider's signing keys (JWKS), fetched over HTTP and cached.

Keys are refreshed when the cache is older than `ttl`, or when a token names a
`kid` the cache does not know (the provider rotated its keys). Refreshes never
happen more than once per `min_refresh_interval`: tokens with made-up `kid`s
must not turn into one JWKS request each, and concurrent refreshes share one
request through a lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
from joserfc.errors import JoseError

from torale.errors import Unauthenticated, Unavailable

if TYPE_CHECKING:
    # Imported where keys are handled: joserfc.jwk loads cryptography (~6 MiB), which an
    # API without an identity provider never needs.
    from joserfc.jwk import ECKey, KeySet, RSAKey

log = logging.getLogger(__name__)


_KEY_ALGORITHMS = ("RS256", "ES256")


def _key_type_for_alg(alg: str) -> tuple[type[RSAKey] | type[ECKey], str | None]:
    """The key type (and curve) `alg` needs; a key of another type never verifies a
    token, whatever its header claims (no HS256-with-the-RSA-public-key tricks)."""
    from joserfc.jwk import ECKey, RSAKey

    by_alg: dict[str, tuple[type[RSAKey] | type[ECKey], str | None]] = {
        "RS256": (RSAKey, None),
        "ES256": (ECKey, "P-256"),
    }
    return by_alg[alg]


async def discover_jwks_url(issuer: str, http_client: httpx.AsyncClient) -> str:
    """`jwks_uri` from the issuer's OpenID configuration document."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = await http_client.get(url)
        response.raise_for_status()
        jwks_uri = response.json().get("jwks_uri")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise Unavailable(f"Could not read the OpenID configuration of {issuer}") from exc
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise Unavailable(f"The OpenID configuration of {issuer} has no jwks_uri")
    return jwks_uri


class JWKSCache:
    def __init__(
        self,
        jwks_url: str | None,
        http_client: httpx.AsyncClient,
        *,
        issuer: str | None = None,
        min_refresh_interval: float = 30.0,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if jwks_url is None and issuer is None:
            raise ValueError("JWKSCache needs a jwks_url or an issuer to discover it from")
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.http_client = http_client
        self.min_refresh_interval = min_refresh_interval
        self.ttl = ttl
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def get_key(self, kid: str | None, alg: str) -> RSAKey | ECKey:
        """The key that verifies a token with this `kid` and `alg`, or Unauthenticated."""
        if alg not in _KEY_ALGORITHMS:
            raise Unauthenticated("Invalid token: algorithm not allowed")
        if self._keys is None or self._is_stale():
            await self._refresh(force=False)
        key = self._find(kid, alg)
        if key is None and self._may_refresh():
            await self._refresh(force=True)
            key = self._find(kid, alg)
        if key is None:
            raise Unauthenticated("Invalid token: unknown signing key")
        return key

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.ttl

    def _may_refresh(self) -> bool:
        return self._attempted_at is None or (
            self._clock() - self._attempted_at >= self.min_refresh_interval
        )

    def _find(self, kid: str | None, alg: str) -> RSAKey | ECKey | None:
        if self._keys is None:
            return None
        key_cls, curve = _key_type_for_alg(alg)
        candidates = [
            k
            for k in self._keys.keys
            if isinstance(k, key_cls)
            and (curve is None or k.get("crv") == curve)
            and k.get("alg") in (None, alg)
            and k.get("use") in (None, "sig")
        ]
        if kid is None:
            # Providers with a single key sometimes omit `kid`; with several, guessing is wrong.
            return candidates[0] if len(candidates) == 1 else None
        return next((k for k in candidates if k.kid == kid), None)

    async def _refresh(self, *, force: bool) -> None:
        attempted_before = self._attempted_at
        async with self._lock:
            # Someone else refreshed while we waited: their result is as fresh as ours would be.
            if self._attempted_at != attempted_before:
                return
            if force and not self._may_refresh():
                return
            self._attempted_at = self._clock()
            try:
                keys = await self._fetch()
            except Unavailable:
                if self._keys is None:
                    raise
                # A provider outage should not sign everybody out: keep the keys we have.
                log.warning("JWKS refresh from %s failed; keeping cached keys", self.jwks_url)
                return
            self._keys = keys
            self._fetched_at = self._clock()

    async def _fetch(self) -> KeySet:
        from joserfc.jwk import KeySet

        if self.jwks_url is None:
            assert self.issuer is not None
            self.jwks_url = await discover_jwks_url(self.issuer, self.http_client)
        self.fetch_count += 1
        try:
            response = await self.http_client.get(self.jwks_url)
            response.raise_for_status()
            data: Any = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unavailable("Could not fetch the identity provider's signing keys") from exc
        try:
            # Only public keys matter; anything the provider publishes besides is ignored.
            usable = [k for k in data["keys"] if k.get("kty") in ("RSA", "EC")]
            return KeySet.import_key_set({"keys": usable})
        except (JoseError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise Unavailable("The identity provider's JWKS is not valid") from exc
