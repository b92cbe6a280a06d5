"""The guarded client re-vets at connect time, so DNS rebinding cannot slip through."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpcore
import httpx
import pytest
from tls_cert import write_self_signed

from tests.helpers import PeerHTTPServer
from torale.net import UnsafeURL, check_url, safe_client
from torale.net.transport import GuardedNetworkBackend


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers.items()))
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/internal")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = PeerHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


def _sequence(*answers: list[str]):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


async def test_transport_refuses_loopback_without_a_precheck(server) -> None:
    port, seen = server
    async with safe_client(allow_private=False) as client:
        with pytest.raises(UnsafeURL, match="loopback address"):
            await client.get(f"http://127.0.0.1:{port}/")
    assert seen == []


async def test_dns_rebinding_between_check_and_connect_is_refused(server) -> None:
    port, seen = server
    url = f"http://rebind.example:{port}/"
    resolver = _sequence(["93.184.216.34"], ["127.0.0.1"])
    await check_url(url, allow_private=False, resolver=resolver)  # first answer: public
    async with safe_client(allow_private=False, resolver=resolver) as client:
        with pytest.raises(UnsafeURL, match=r"rebind.example \(127.0.0.1\)"):
            await client.get(url)
    assert seen == []


async def test_connects_to_the_vetted_ip_and_keeps_the_host_header(server) -> None:
    port, seen = server
    resolver = _sequence(["127.0.0.1"])
    async with safe_client(allow_private=True, resolver=resolver) as client:
        response = await client.get(f"http://receiver.test:{port}/")
    assert response.status_code == 200
    assert seen[0]["Host"] == f"receiver.test:{port}"
    assert resolver.calls == ["receiver.test"]  # type: ignore[attr-defined]


class _PublicIpIsLocal(httpcore.AnyIOBackend):
    """Stands in for the internet: 'connecting' to PUBLIC_IP reaches the local server,
    so the guard sees a public address without any traffic leaving the machine."""

    async def connect_tcp(self, host, port, **kwargs):  # type: ignore[override]
        assert host == PUBLIC_IP, f"guard let through {host}"
        return await super().connect_tcp("127.0.0.1", port, **kwargs)


PUBLIC_IP = "93.184.216.34"


async def test_redirect_hops_are_vetted_when_following(server) -> None:
    port, seen = server

    async def resolve(host: str, port_: int) -> list[str]:
        return {"public.example": [PUBLIC_IP]}.get(host, [host])

    backend = GuardedNetworkBackend(allow_private=False, resolver=resolve, inner=_PublicIpIsLocal())
    transport = httpx.AsyncHTTPTransport()
    transport._pool = httpcore.AsyncConnectionPool(network_backend=backend)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        assert (await client.get(f"http://public.example:{port}/")).status_code == 200
        # /hop redirects to http://127.0.0.1:1/internal
        with pytest.raises(UnsafeURL, match=r"loopback address: 127\.0\.0\.1"):
            await client.get(f"http://public.example:{port}/hop")
    assert len(seen) == 2


async def test_unresolvable_host_surfaces_as_connect_error() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise OSError("lookup failed")

    async with safe_client(allow_private=False, resolver=fail) as client:
        with pytest.raises(httpx.ConnectError, match=r"Could not resolve host nope\.example"):
            await client.get("http://nope.example/")


async def test_environment_proxies_are_ignored(monkeypatch, server) -> None:
    port, seen = server
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    async with safe_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 200
    assert len(seen) == 1


async def test_https_keeps_sni_and_certificate_checks_on_the_host_name(tmp_path) -> None:
    # The certificate names only secure.test: the handshake succeeds only if SNI and
    # hostname verification use the URL's host while the socket goes to 127.0.0.1.
    cert, key = write_self_signed(tmp_path, ["secure.test"])
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    sni_seen: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni_seen.append(name)
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = PeerHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = httpd.server_address[1]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    try:
        async with safe_client(
            allow_private=True, resolver=_sequence(["127.0.0.1"]), verify=client_ctx
        ) as client:
            response = await client.get(f"https://secure.test:{port}/")
            assert response.status_code == 200
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await client.get(f"https://other.test:{port}/")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert sni_seen[0] == "secure.test"
    assert seen[0]["Host"] == f"secure.test:{port}"
