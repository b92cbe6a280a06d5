"""SSRF guard: decide whether an outbound URL may be fetched.

A URL is safe when it is http(s), has a host, and *every* address the host resolves
to is publicly routable. Checking all A/AAAA records (not just the first) matters:
an attacker controlling DNS can mix a public and a private record and let the
client's address selection pick the private one.

`check_url` is the configuration-time / pre-flight check with a readable error.
It alone cannot stop DNS rebinding (the name may resolve differently a moment
later, when the HTTP client connects); `torale.net.transport` closes that gap by
re-resolving and vetting at connect time and connecting to the vetted address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

# host, port -> the IP addresses (as strings) the host resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_PRIVATE_HINT = "set TORALE_ALLOW_PRIVATE_URLS=true to allow it for local development"

# Ranges the stdlib flags do not (all) cover; CGNAT is neither "private" nor "global".
_EXTRA_BLOCKED: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = (
    ("shared (CGNAT)", ipaddress.ip_network("100.64.0.0/10")),
    ("unique local", ipaddress.ip_network("fc00::/7")),
    ("site-local", ipaddress.ip_network("fec0::/10")),
)
# NAT64 embeds an IPv4 address in the low 32 bits; vet that address instead.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL may not be fetched (scheme, host or resolved address refused)."""


class UnresolvableHost(UnsafeURL):
    """The host name did not resolve. Often transient, so callers may retry."""


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """The kind of non-public address `ip` is ("loopback", "private" ...), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_problem(embedded)
    # Order matters for the message: the most specific reason first.
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
    )
    for kind, flagged in checks:
        if flagged:
            return kind
    for kind, network in _EXTRA_BLOCKED:
        if ip.version == network.version and ip in network:
            return kind
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def _describe(host: str, ip: str, kind: str) -> str:
    shown = ip if ip == host else f"{host} ({ip})"
    extra = " (cloud metadata endpoint)" if ip == "169.254.169.254" else ""
    article = "an" if kind[0] in "aeiou" else "a"
    return f"URL resolves to {article} {kind} address: {shown}{extra}; {ALLOW_PRIVATE_HINT}"


async def vet_host(
    host: str, port: int, *, allow_private: bool, resolver: Resolver | None = None
) -> list[str]:
    """Resolve `host` and return its addresses, refusing if any of them is not public.

    With `allow_private` the addresses are returned unvetted.
    """
    resolve = resolver or system_resolver
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHost(f"Could not resolve host {host}: {exc}") from exc
    if not addresses:
        raise UnresolvableHost(f"Could not resolve host {host}: no addresses")
    if allow_private:
        return addresses
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as exc:
            raise UnsafeURL(f"Host {host} resolved to an invalid address {address!r}") from exc
        kind = address_problem(ip)
        if kind is not None:
            raise UnsafeURL(_describe(host, address, kind))
    return addresses


def parse_http_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, or UnsafeURL with a readable reason."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURL(f"Invalid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL("URL must use http or https")
    if not parsed.host:
        raise UnsafeURL("URL must include a host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.host, port


async def check_url(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> None:
    """Raise UnsafeURL unless `url` is http(s) and (unless allow_private) public.

    A host that does not resolve raises UnresolvableHost (a subclass of UnsafeURL).
    """
    host, port = parse_http_url(url)
    await vet_host(host, port, allow_private=allow_private, resolver=resolver)
