"""IP literals in any notation and malformed hosts are decided without a DNS lookup.

Proof by a real mechanism: the checks run in a fresh interpreter with a CPython audit
hook that records every `socket.getaddrinfo` / `gethostbyname*` call (the events the
standard library raises for name lookups, whichever thread makes them). A control URL
(`localhost`, answered from /etc/hosts, so nothing leaves the machine) shows the hook
does see lookups.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import asyncio, json, sys
lookups = []
def audit(event, args):
    if event.startswith(("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr")):
        lookups.append(event)
sys.addaudithook(audit)
from torale.net.ssrf import check_url, UnsafeURL
from torale.net.transport import safe_client

async def through_transport(url, allow_private):
    # What a webhook delivery does: the guarded transport vets the host as it connects.
    async with safe_client(allow_private=allow_private, timeout=5) as http:
        await http.get(url)

async def main(urls, allow_private, transport):
    results = {}
    for url in urls:
        del lookups[:]
        try:
            if transport:
                await through_transport(url, allow_private)
            else:
                await check_url(url, allow_private=allow_private)
            outcome = "allowed"
        except UnsafeURL as exc:
            outcome = "refused: " + str(exc)
        results[url] = {"outcome": outcome, "lookups": list(lookups)}
    return results

urls, allow_private, transport = json.loads(sys.stdin.read())
print(json.dumps(asyncio.run(main(urls, allow_private, transport))))
"""

REFUSED = {
    "http://127.0.0.1.:9/x": "Invalid host name",  # trailing dot
    "http://example.com./": "Invalid host name",
    "http://a..b/": "Invalid host name",
    "http://127.0.0.1:9\\@example.org/": "backslashes",
    "http://user:pw@example.org/": "user name or password",
    "http://exa mple.com/": "spaces",
    "http://2130706433/": "loopback address",  # decimal
    "http://0x7f000001/": "loopback address",  # hex
    "http://017700000001/": "loopback address",  # octal, one part
    "http://0177.0.0.1/": "Invalid IPv4",  # octal parts: refused by the URL parser
    "http://127.1/": "loopback address",  # short form
    "http://0x7f.1/": "loopback address",
    "http://0/": "unspecified address",
    "http://10.1/": "private address",
    "http://[::1]/": "loopback address",
    "http://[0:0:0:0:0:0:0:1]/": "loopback address",
    "http://[::ffff:127.0.0.1]/": "loopback address",  # IPv4-mapped
    "http://[::ffff:7f00:1]/": "loopback address",
    "http://[::ffff:a9fe:a9fe]/": "link-local address",
    "http://[64:ff9b::7f00:1]/": "loopback address",  # NAT64
    "http://[2002:7f00:1::]/": "loopback address",  # 6to4
    "http://[fe80::1%25eth0]/": "link-local address",
    "http://169.254.169.254/latest/meta-data": "cloud metadata endpoint",
    "http://example.0x7f/": "Invalid IPv4",  # ends in a number: an address or nothing
    "http://999999999999/": "Invalid IPv4",
}
PUBLIC_LITERALS = ["http://8.8.8.8/", "http://134744072/", "http://[2001:4860:4860::8888]/"]


def run_probe(urls: list[str], *, allow_private: bool, transport: bool = False) -> dict[str, dict]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps([urls, allow_private, transport]),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_audit_hook_sees_a_real_lookup() -> None:
    result = run_probe(["http://localhost:9/"], allow_private=False)["http://localhost:9/"]
    assert result["lookups"], "the probe must notice a name lookup"
    assert "loopback address: localhost" in result["outcome"]


def test_literal_and_malformed_hosts_are_refused_without_a_lookup() -> None:
    results = run_probe(list(REFUSED), allow_private=False)
    tried = len(results)
    refused = sum(1 for r in results.values() if r["outcome"].startswith("refused"))
    print(f"SSRF literal/malformed hosts: tried {tried}, refused {refused}")
    for url, expected in REFUSED.items():
        assert results[url]["lookups"] == [], url
        assert results[url]["outcome"].startswith("refused: "), url
        assert expected in results[url]["outcome"], (url, results[url]["outcome"])
    assert refused == tried == len(REFUSED)


def test_public_literals_pass_without_a_lookup() -> None:
    results = run_probe(PUBLIC_LITERALS, allow_private=False)
    assert all(r == {"outcome": "allowed", "lookups": []} for r in results.values()), results


@pytest.mark.parametrize("url", ["http://127.1:9/", "http://[::ffff:127.0.0.1]:9/"])
def test_allowed_private_literals_are_not_resolved_either(url: str) -> None:
    assert run_probe([url], allow_private=True)[url] == {"outcome": "allowed", "lookups": []}


def test_malformed_hosts_stay_refused_when_private_is_allowed() -> None:
    malformed = [
        "http://127.0.0.1.:9/x",
        "http://127.0.0.1:9\\@example.org/",
        "http://u@h.example/",
    ]
    results = run_probe(malformed, allow_private=True)
    assert all(r["outcome"].startswith("refused") and not r["lookups"] for r in results.values())


def test_the_guarded_transport_refuses_literals_without_a_lookup() -> None:
    """Deliveries connect through the guarded transport: the same decision, no lookup."""
    literals = ["http://2130706433:9/", "http://0x7f000001:9/", "http://[::ffff:127.0.0.1]:9/"]
    results = run_probe(literals, allow_private=False, transport=True)
    for url in literals:
        assert results[url]["lookups"] == [], url
        assert "loopback address" in results[url]["outcome"], results[url]
