"""An httpx transport that enforces the SSRF guard at connect time.

Approach: a custom httpcore network backend. httpcore asks the backend to open a TCP
connection to (host, port); the guarded backend resolves the host itself, vets every
address with `vet_host` and then connects to the vetted IP literal. The name is never
resolved a second time, so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot redirect us. httpcore keeps using the original
host name for the Host header, TLS SNI and certificate verification, because those
come from the request URL and not from the address we connected to. Every new
connection goes through the backend, so redirects followed by a caller are vetted too.

Outbound proxies are deliberately not supported: through a proxy we would vet the
proxy's address, not the target's. The client is built with `trust_env=False` for the
same reason (no `HTTP(S)_PROXY` from the environment).
"""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
import httpx

from torale.net.ssrf import Resolver, UnresolvableHost, vet_host


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # UnsafeURL propagates unchanged through httpcore/httpx, so callers can tell a
        # refusal from a network failure; a failed lookup is a connect error (retryable).
        try:
            async with asyncio.timeout(timeout):
                addresses = await vet_host(
                    host, port, allow_private=self._allow_private, resolver=self._resolver
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"Timed out resolving {host}") from exc
        except UnresolvableHost as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last_error: Exception | None = None
        options = list(socket_options or [])
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not allowed for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """AsyncHTTPTransport whose connections are opened by GuardedNetworkBackend."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        verify: bool | str | ssl.SSLContext = True,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
        http2: bool = False,
    ) -> None:
        super().__init__(verify=verify, limits=limits, http2=http2, trust_env=False)
        # httpx has no public hook for the network backend, so the pool it built is
        # replaced by an identical one that uses ours (pinned httpx 0.28; covered by tests).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=GuardedNetworkBackend(allow_private=allow_private, resolver=resolver),
        )


def safe_client(
    *,
    allow_private: bool,
    timeout: float = 15.0,
    resolver: Resolver | None = None,
    verify: bool | str | ssl.SSLContext = True,
    **kwargs: typing.Any,
) -> httpx.AsyncClient:
    """An AsyncClient for user-supplied URLs (webhooks, page fetches).

    Redirects are off unless the caller passes `follow_redirects=True`; each hop is
    then vetted by the transport as it connects.
    """
    kwargs.setdefault("follow_redirects", False)
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private, resolver=resolver, verify=verify),
        timeout=timeout,
        trust_env=False,
        **kwargs,
    )
