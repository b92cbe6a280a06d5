"""Grounding sources as users should see them: real URLs, no trackers, each page once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SNIPPET_LIMIT = 300

# Redirectors that carry the target in a query parameter: host -> (path, parameter names).
_WRAPPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "google.com": ("/url", ("q", "url")),
    "l.facebook.com": ("/l.php", ("u",)),
    "lm.facebook.com": ("/l.php", ("u",)),
    "duckduckgo.com": ("/l/", ("uddg",)),
    "out.reddit.com": ("/", ("url",)),
    "l.instagram.com": ("/", ("u",)),
}
# Gemini's grounding redirects resolve only online; the title (the site) identifies them.
_OPAQUE_REDIRECT_HOSTS = ("vertexaisearch.cloud.google.com",)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "srsltid",
        "spm",
        "si",
    }
)


@dataclass(frozen=True)
class Source:
    uri: str
    title: str
    snippet: str | None = None

    def as_dict(self) -> dict[str, str]:
        data = {"uri": self.uri, "title": self.title}
        if self.snippet:
            data["snippet"] = self.snippet
        return data


def _bare_host(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def clean_url(uri: str) -> str | None:
    """The URL without redirect wrappers and tracking parameters; None if not http(s)."""
    uri = uri.strip()
    for _ in range(3):  # wrappers can nest (a Google link to a Facebook link ...)
        parts = urlsplit(uri)
        wrapper = _WRAPPERS.get(_bare_host((parts.hostname or "").lower()))
        if not wrapper or not parts.path.startswith(wrapper[0]):
            break
        params = dict(parse_qsl(parts.query))
        target = next((params[name] for name in wrapper[1] if params.get(name)), None)
        if not target:
            break
        target = unquote(target) if "%" in target and "://" not in target else target
        if not target.lower().startswith(("http://", "https://")):
            break
        uri = target
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
    ]
    netloc = parts.netloc.lower() if "@" not in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def _dedup_key(uri: str, title: str) -> str:
    parts = urlsplit(uri)
    host = _bare_host((parts.hostname or "").lower())
    if host in _OPAQUE_REDIRECT_HOSTS and title:
        return "title:" + title.strip().lower()
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{host}{port}{parts.path.rstrip('/') or '/'}?{query}"


def _short(text: str | None) -> str | None:
    if not text:
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= SNIPPET_LIMIT else text[: SNIPPET_LIMIT - 1].rstrip() + "…"


def clean_sources(raw: Iterable[tuple[str, str | None, str | None]]) -> list[Source]:
    """(uri, title, snippet) triples -> cleaned, de-duplicated sources, first seen first.

    A duplicate that knows a title or snippet the first one lacked fills it in.
    """
    by_key: dict[str, Source] = {}
    for uri, title, snippet in raw:
        cleaned = clean_url(uri)
        if cleaned is None:
            continue
        title = (title or "").strip()
        key = _dedup_key(cleaned, title)
        known = by_key.get(key)
        if known is None:
            by_key[key] = Source(uri=cleaned, title=title or cleaned, snippet=_short(snippet))
            continue
        by_key[key] = Source(
            uri=known.uri,
            title=known.title if known.title != known.uri or not title else title,
            snippet=known.snippet or _short(snippet),
        )
    return list(by_key.values())
