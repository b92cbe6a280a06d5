"""Outbound networking helpers (SSRF guard and a guarded HTTP client)."""

from torale.net.ssrf import UnresolvableHost, UnsafeURL, check_url
from torale.net.transport import GuardedTransport, safe_client

__all__ = ["GuardedTransport", "UnresolvableHost", "UnsafeURL", "check_url", "safe_client"]
