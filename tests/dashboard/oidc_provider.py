"""A small OpenID Connect provider for the dashboard's sign-in test: discovery, JWKS,
an authorization endpoint that approves at once (a user already signed in there) and
a token endpoint that checks the PKCE verifier before it issues a signed ID token."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.helpers import PeerHTTPServer, serving


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    nonce: str | None


@dataclass
class OidcProvider:
    client_id: str
    subject: str
    email: str
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "dash-1"})
    )
    url: str = ""
    grants: dict[str, Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, params: dict[str, str]) -> str:
        """The redirect back to the client, with a code (or an error)."""
        with self.lock:
            self.authorize_requests.append(params)
        redirect = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            refused = {"error": "unauthorized_client", "state": params.get("state", "")}
            return f"{redirect}?{urlencode(refused)}"
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.grants[code] = Grant(
                client_id=params["client_id"],
                redirect_uri=redirect,
                challenge=params.get("code_challenge", ""),
                method=params.get("code_challenge_method", ""),
                nonce=params.get("nonce"),
            )
        return f"{redirect}?{urlencode({'code': code, 'state': params.get('state', '')})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.token_requests.append(form)
            grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (
            grant.method != "S256"
            or expected != grant.challenge
            or form.get("client_id") != grant.client_id
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": self.client_id,
            "sub": self.subject,
            "email": self.email,
            "email_verified": True,
            "iat": now,
            "exp": now + 600,
            "nonce": grant.nonce,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "dash-1"}, claims, self.key)
        return 200, {"id_token": id_token, "token_type": "Bearer", "expires_in": 600}


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            # The dashboard calls discovery and the token endpoint from another origin.
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/jwks":
                self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            elif parts.path == "/authorize":
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                self.send_response(302)
                self.send_header("Location", provider.authorize(params))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            if urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            status, answer = provider.token({k: v[0] for k, v in parse_qs(body).items()})
            self._json(status, answer)

    return Handler


@contextmanager
def running_provider(client_id: str, subject: str, email: str) -> Iterator[OidcProvider]:
    """An OidcProvider serving on 127.0.0.1 for the block."""
    provider = OidcProvider(client_id=client_id, subject=subject, email=email)
    server = PeerHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield provider
