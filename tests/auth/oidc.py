"""Tokens from a real local issuer (tests/jwks.py) and an app that trusts it."""

from __future__ import annotations

import json
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

ISSUER = "https://issuer.example.test"
AUDIENCE = "torale"
KEY = RSAKey.generate_key(2048, parameters={"kid": "app-1"})


def jwt_settings(settings: Any, jwks_url: str, **update: Any) -> Any:
    return settings.model_copy(
        update={"jwt_jwks_url": jwks_url, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, **update}
    )


class AsciiJSON(json.JSONEncoder):
    """Escapes everything outside ASCII, so a lone surrogate travels as `\\ud800`: valid
    JSON a hostile client can send, which UTF-8 encoding would refuse to produce."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "ensure_ascii": True})


def signed(claims: dict[str, Any], **header: Any) -> dict[str, str]:
    """Headers with `claims` signed by the issuer's key; `header` overrides `kid` etc."""
    encoded = jwt.encode(
        {"alg": "RS256", "kid": "app-1", **header},
        claims,
        KEY,
        algorithms=["RS256"],
        encoder_cls=AsciiJSON,
    )
    return {"Authorization": f"Bearer {encoded}"}


def token(
    sub: str, email: str | None = "ada@example.com", *, verified: Any = True, **extra: Any
) -> dict[str, str]:
    """Headers with a valid token; `verified=None` leaves the `email_verified` claim out."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 300, **extra}
    if email is not None:
        claims["email"] = email
    if verified is not None:
        claims["email_verified"] = verified
    return signed(claims)
