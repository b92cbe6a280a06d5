"""Verification of OIDC JWTs (Clerk or any issuer publishing a JWKS).

Only asymmetric algorithms are accepted: with RS256/ES256 the server holds no
secret, and refusing everything else closes `alg: none` and the HS256 trick
(signing with the public key as an HMAC secret). The signature is checked
before any claim, so an expired token with a forged signature is "Invalid token",
never "Token has expired".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# joserfc's `jwt` is imported where tokens are verified: it loads cryptography (~6 MiB),
# which an API without an identity provider never needs.
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)

from torale.auth.claim_text import is_clean_text
from torale.errors import Unauthenticated

if TYPE_CHECKING:
    from torale.auth.jwks import JWKSCache

ALLOWED_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256")

_B64URL = r"[A-Za-z0-9_-]+"
_JWT_SHAPE = re.compile(rf"^{_B64URL}\.{_B64URL}\.{_B64URL}$")
# A compact JWS header or payload is larger than this only when someone is probing us.
_MAX_TOKEN_LENGTH = 16_384
# The users table keeps the subject in a VARCHAR(255).
MAX_SUBJECT_LENGTH = 255


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts, the first decoding to a JSON header: an API key never does."""
    if token.startswith("sk_") or len(token) > _MAX_TOKEN_LENGTH or not _JWT_SHAPE.match(token):
        return False
    try:
        return isinstance(_decode_segment(token.split(".", 1)[0]), dict)
    except ValueError:
        return False


def _decode_segment(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not a JWT segment") from exc


@dataclass(frozen=True)
class Claims:
    sub: str
    email: str | None
    raw: Mapping[str, Any] = field(repr=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)


_ABSENT = object()


def claim_at(claims: Claims | Mapping[str, Any], path: str) -> Any:
    """The claim at the dotted `path` (`public_metadata.role`), or `_ABSENT`."""
    node: Any = claims.raw if isinstance(claims, Claims) else claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def is_admin_claim(
    claims: Claims | Mapping[str, Any], path: str = "public_metadata.role", value: Any = "admin"
) -> bool:
    """Whether the dotted claim `path` holds `value` (a list claim may contain it)."""
    node = claim_at(claims, path)
    if node is _ABSENT:
        return False
    if isinstance(node, list):
        return value in node
    return node == value


def is_email_verified(claims: Claims, path: str = "email_verified") -> bool:
    """Only a JSON `true` counts: a missing claim, `false` or the string "true" do not.

    Strict on purpose: linking an existing account by email trusts this claim, and a
    provider that sends something else has not said the address is verified.
    """
    return claim_at(claims, path) is True


_CLAIM_REASONS = {
    "iss": "wrong issuer",
    "aud": "wrong audience",
    "nbf": "not yet valid",
    "iat": "issued in the future",
    "exp": "bad expiry",
    "sub": "bad subject",
}


class JWTVerifier:
    def __init__(
        self,
        jwks: JWKSCache,
        *,
        issuer: str | None,
        audience: str | None = None,
        leeway: int = 30,
        algorithms: tuple[str, ...] = ALLOWED_ALGORITHMS,
        now: Callable[[], int] | None = None,
    ) -> None:
        unsupported = set(algorithms) - set(ALLOWED_ALGORITHMS)
        if unsupported:
            raise ValueError(f"Unsupported JWT algorithms: {sorted(unsupported)}")
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        options: dict[str, Any] = {
            "sub": {"essential": True},
            "exp": {"essential": True},
        }
        if issuer is not None:
            options["iss"] = {"essential": True, "value": issuer}
        if audience is not None:
            options["aud"] = {"essential": True, "value": audience}
        from joserfc import jwt

        self._registry = jwt.JWTClaimsRegistry(
            now=now or (lambda: int(time.time())), leeway=leeway, **options
        )

    async def verify(self, token: str) -> Claims:
        if not looks_like_jwt(token):
            raise Unauthenticated("Invalid token: malformed")
        header = _decode_segment(token.split(".", 1)[0])
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthenticated("Invalid token: algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("Invalid token: malformed")
        key = await self.jwks.get_key(kid, alg)
        from joserfc import jwt

        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
        except BadSignatureError as exc:
            raise Unauthenticated("Invalid token: bad signature") from exc
        except JoseError as exc:
            raise Unauthenticated("Invalid token: malformed") from exc
        claims = decoded.claims
        try:
            self._registry.validate(claims)
        except ExpiredTokenError as exc:
            raise Unauthenticated("Token has expired") from exc
        except MissingClaimError as exc:
            raise Unauthenticated(f"Invalid token: missing claim {exc.claim}") from exc
        except InvalidClaimError as exc:
            reason = _CLAIM_REASONS.get(exc.claim, f"invalid claim {exc.claim}")
            raise Unauthenticated(f"Invalid token: {reason}") from exc
        subject = claims["sub"]
        if len(subject) > MAX_SUBJECT_LENGTH or not is_clean_text(subject):
            # NUL or a lone surrogate could not even be looked up in the database.
            raise Unauthenticated("Invalid token: bad subject")
        email = claims.get("email")
        return Claims(sub=subject, email=email if isinstance(email, str) else None, raw=claims)


def jwt_verifier_from_settings(settings_like: Any, http_client: Any) -> JWTVerifier | None:
    """The verifier for `jwt_issuer` / `jwt_jwks_url` / `jwt_audience`; None when JWT is off.

    Optional attributes (defaults when absent): `jwt_leeway_seconds` (30),
    `jwt_jwks_min_refresh_seconds` (30), `jwt_jwks_ttl_seconds` (3600).
    """
    issuer = getattr(settings_like, "jwt_issuer", None)
    jwks_url = getattr(settings_like, "jwt_jwks_url", None)
    if not issuer and not jwks_url:
        return None
    # Imported here: it loads httpx, which an API without JWT never needs.
    from torale.auth.jwks import JWKSCache

    cache = JWKSCache(
        jwks_url,
        http_client,
        issuer=issuer,
        min_refresh_interval=getattr(settings_like, "jwt_jwks_min_refresh_seconds", None) or 30.0,
        ttl=getattr(settings_like, "jwt_jwks_ttl_seconds", None) or 3600.0,
    )
    leeway = getattr(settings_like, "jwt_leeway_seconds", None)
    return JWTVerifier(
        cache,
        issuer=issuer,
        audience=getattr(settings_like, "jwt_audience", None),
        leeway=30 if leeway is None else int(leeway),
    )
