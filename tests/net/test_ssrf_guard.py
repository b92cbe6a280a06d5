from __future__ import annotations

import ipaddress

import pytest

from torale.net.ssrf import UnresolvableHost, UnsafeURL, address_problem, check_url


def _static(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "loopback address: 127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data", "(cloud metadata endpoint)"),
        ("http://10.0.0.1/", "private address: 10.0.0.1"),
        ("http://192.168.1.10/", "private address"),
        ("http://172.16.0.5/", "private address"),
        ("http://[::1]/", "loopback address: ::1"),
        ("http://localhost/", "loopback address: localhost (127.0.0.1)"),
        ("http://0.0.0.0/", "unspecified address"),
        ("http://100.64.0.1/", "shared (CGNAT) address"),
        ("http://224.0.0.1/", "multicast address"),
        ("http://[fd12::1]/", "unique local address"),
        ("http://[fe80::1]/", "link-local address"),
        ("http://[::ffff:169.254.169.254]/", "link-local address"),
        ("http://[::ffff:10.0.0.1]/", "private address"),
        ("http://2130706433/", "loopback address"),  # decimal form of 127.0.0.1
        ("http://240.0.0.1/", "address"),
    ],
)
async def test_non_public_destinations_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeURL, match="TORALE_ALLOW_PRIVATE_URLS") as info:
        await check_url(url, allow_private=False)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost/", "http://[::1]/", "http://10.0.0.1/"]
)
async def test_allow_private_lets_them_through(url: str) -> None:
    await check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "URL must use http or https"),
        ("file:///etc/passwd", "URL must use http or https"),
        ("javascript:alert(1)", "URL must use http or https"),
        ("example.com/hook", "URL must use http or https"),
        ("http:///path", "URL must include a host"),
    ],
)
async def test_scheme_and_host_are_required_even_when_private_is_allowed(
    url: str, message: str
) -> None:
    with pytest.raises(UnsafeURL, match=message):
        await check_url(url, allow_private=True)


async def test_public_addresses_pass() -> None:
    await check_url(
        "https://example.com/hook", allow_private=False, resolver=_static("93.184.216.34")
    )
    await check_url("http://8.8.8.8/", allow_private=False)
    await check_url("http://[2001:4860:4860::8888]/", allow_private=False)


async def test_every_resolved_address_is_checked() -> None:
    with pytest.raises(UnsafeURL, match=r"loopback address: mixed.example \(127.0.0.1\)"):
        await check_url(
            "http://mixed.example/",
            allow_private=False,
            resolver=_static("93.184.216.34", "127.0.0.1"),
        )


async def test_unresolvable_host_is_a_distinct_error() -> None:
    with pytest.raises(UnresolvableHost, match=r"Could not resolve host no-such-host\.invalid"):
        await check_url("http://no-such-host.invalid/", allow_private=False)


async def test_empty_resolution_is_unresolvable() -> None:
    with pytest.raises(UnresolvableHost, match="no addresses"):
        await check_url("http://nothing.example/", allow_private=False, resolver=_static())


def test_unsafe_url_is_a_value_error() -> None:
    assert issubclass(UnsafeURL, ValueError)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("100.127.255.255", "shared (CGNAT)"),
        ("1.1.1.1", None),
        ("2606:4700::1111", None),
    ],
)
def test_embedded_and_edge_addresses(address: str, kind: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == kind
