"""SSRF guard: decide whether an outbound URL may be fetched.

A URL is safe when it is http(s), has a host, and *every* address the host resolves
to is publicly routable. Checking all A/AAAA records (not just the first) matters:
an attacker controlling DNS can mix a public and a private record and let the
client's address selection pick the private one.

Hosts that need no lookup are decided without one: an IP literal in any notation
the C library (and so curl, browsers and most HTTP stacks) would read — `2130706433`,
`0x7f000001`, `0177.0.0.1`, `127.1`, `[::ffff:127.0.0.1]` — is vetted as the address it
names, and a malformed host (trailing dot, empty label, userinfo, a backslash) is
refused outright. A name that only *looks* odd never reaches the resolver, so a DNS
server of the attacker's never learns about it and cannot answer for it.

`check_url` is the configuration-time / pre-flight check with a readable error.
It alone cannot stop DNS rebinding (the name may resolve differently a moment
later, when the HTTP client connects); `torale.net.transport` closes that gap by
re-resolving and vetting at connect time and connecting to the vetted address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable

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


_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?", re.IGNORECASE)
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` names when it is an IP literal in any notation, else None.

    Like the URL standard, a host whose last label is a number is an IPv4 address:
    it is read the way `inet_aton` reads it (decimal, hex, octal, 1-4 parts), or
    refused when it is not a valid one. Nothing here consults a resolver.
    """
    if ":" in host:  # only IPv6 literals have colons in a host
        try:
            return ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            raise UnsafeURL(f"Invalid IPv6 address: {host}") from None
    if not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        raise UnsafeURL(f"Invalid IPv4 address: {host}") from None


def check_host_syntax(host: str) -> None:
    """Refuse a host name no resolver should be asked about (before any lookup)."""
    if ":" in host:
        return  # an IPv6 literal, parsed by ip_literal
    labels = host.split(".")
    if host.endswith(".") or not all(labels) or len(host) > 253:
        raise UnsafeURL(f"Invalid host name: {host}")
    for label in labels:
        if len(label) > 63 or not _LABEL.fullmatch(label):
            raise UnsafeURL(f"Invalid host name: {host}")


def _vet_address(host: str, address: str) -> None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise UnsafeURL(f"Host {host} resolved to an invalid address {address!r}") from exc
    kind = address_problem(ip)
    if kind is not None:
        raise UnsafeURL(_describe(host, address, kind))


async def vet_host(
    host: str, port: int, *, allow_private: bool, resolver: Resolver | None = None
) -> list[str]:
    """Resolve `host` and return its addresses, refusing if any of them is not public.

    IP literals and malformed hosts are decided without resolving anything. With
    `allow_private` the addresses are returned unvetted.
    """
    check_host_syntax(host)
    literal = ip_literal(host)
    if literal is not None:
        address = str(literal)
        if not allow_private:
            _vet_address(host, address)
        return [address]
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
        _vet_address(host, address)
    return addresses


def parse_http_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, or UnsafeURL with a readable reason."""
    if "\\" in url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        # Parsers disagree on these (`http://127.0.0.1:9\\@example.org/` is 127.0.0.1 to
        # some, example.org to others): refuse rather than guess which one will connect.
        raise UnsafeURL("Invalid URL: backslashes, spaces and control characters are not allowed")
    # Imported here: httpx loads on the first URL check, not with the API.
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURL(f"Invalid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL("URL must use http or https")
    if not parsed.host:
        raise UnsafeURL("URL must include a host")
    if parsed.userinfo:
        raise UnsafeURL("URL must not contain a user name or password (user@host)")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.host, port


async def check_url(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> None:
    """Raise UnsafeURL unless `url` is http(s) and (unless allow_private) public.

    A host that does not resolve raises UnresolvableHost (a subclass of UnsafeURL).
    """
    host, port = parse_http_url(url)
    await vet_host(host, port, allow_private=allow_private, resolver=resolver)
