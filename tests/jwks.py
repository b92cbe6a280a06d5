"""A real OIDC issuer for tests: discovery document and a rotatable JWKS over HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.helpers import PeerHTTPServer


class JWKSServer:
    """Serves the OpenID configuration and a JWKS that the test can rotate; counts requests."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.jwks_requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": server.url, "jwks_uri": server.url + "/jwks"}
                elif self.path == "/jwks":
                    server.jwks_requests += 1
                    body = {"keys": [k.as_dict(private=False) for k in server.keys]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = PeerHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
