"""Atom 1.0 (RFC 4287) rendering of a public task's feed, and its HTTP validators.

Everything shown comes from users, models or web pages: ElementTree escapes it, and
characters XML 1.0 cannot carry at all (most C0 controls) are removed first.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
TITLE_MAX = 120
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: Any) -> str:
    return _NOT_XML.sub("", str(text))


def _stamp(value: str | datetime) -> str:
    moment = value if isinstance(value, datetime) else parse_iso(value)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = parent.makeelement(tag, attrs)
    parent.append(element)
    if text is not None:
        element.text = _clean(text)
    return element


def _title(answer: str | None) -> str:
    line = " ".join((answer or "").split())
    if not line:
        return "Condition met"
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1] + "…"


def _content(entry: dict[str, Any]) -> str:
    parts = [entry.get("answer") or ""]
    if entry.get("reasoning"):
        parts.append(f"Why: {entry['reasoning']}")
    if entry.get("change_summary"):
        parts.append(f"What changed: {entry['change_summary']}")
    if entry.get("current_state") is not None:
        state = json.dumps(entry["current_state"], ensure_ascii=False, sort_keys=True)
        parts.append(f"State: {state}")
    sources = [s for s in entry.get("grounding_sources") or [] if isinstance(s, dict)]
    if sources:
        lines = [f"- {s.get('title') or s.get('uri')}: {s.get('uri')}" for s in sources]
        parts.append("Sources:\n" + "\n".join(lines))
    return "\n\n".join(p for p in parts if p)


def _is_web(uri: Any) -> bool:
    return isinstance(uri, str) and uri.lower().startswith(("http://", "https://"))


def render(feed: dict[str, Any], self_url: str) -> bytes:
    """The feed document: `feed` is the PublicTaskFeed operation's data."""
    # Imported by the first feed, not with the API: ElementTree is ~0.3 MiB it would
    # hold from start-up for a route few clients use.
    import xml.etree.ElementTree as ET

    ET.register_namespace("", ATOM_NS)
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    _sub(root, "id", f"urn:uuid:{feed['task_id']}")
    _sub(root, "title", feed["task_name"])
    _sub(root, "subtitle", f"{feed['search_query']} — {feed['condition_description']}")
    _sub(root, "updated", _stamp(feed["updated_at"]))
    _sub(root, "link", rel="self", type="application/atom+xml", href=_clean(self_url))
    author = _sub(root, "author")
    _sub(author, "name", "Torale")
    _sub(root, "generator", "Torale")
    for entry in feed["entries"]:
        item = _sub(root, "entry")
        _sub(item, "id", f"urn:uuid:{entry['execution_id']}")
        _sub(item, "title", _title(entry.get("answer")))
        stamp = _stamp(entry["updated_at"])
        _sub(item, "updated", stamp)
        _sub(item, "published", stamp)
        for source in entry.get("grounding_sources") or []:
            uri = source.get("uri") if isinstance(source, dict) else None
            if _is_web(uri):
                attrs = {"rel": "related", "href": _clean(uri)}
                if source.get("title"):
                    attrs["title"] = _clean(source["title"])
                _sub(item, "link", **attrs)
        _sub(item, "content", _content(entry), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def last_modified(updated_at: str | datetime) -> str:
    moment = updated_at if isinstance(updated_at, datetime) else parse_iso(updated_at)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(
    etag: str, updated_at: str | datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present (weak comparison);
    If-Modified-Since only without it."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as the RFC says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    moment = updated_at if isinstance(updated_at, datetime) else parse_iso(updated_at)
    # HTTP dates have whole seconds.
    return moment.replace(microsecond=0) <= since
