from __future__ import annotations

from urllib.parse import quote

from torale.monitoring.sources import SNIPPET_LIMIT, Source, clean_sources, clean_url

VERTEX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"


def test_google_redirect_is_unwrapped() -> None:
    wrapped = "https://www.google.com/url?q=https%3A%2F%2Fshop.example%2Fp%3Fid%3D7&sa=U&ved=x"
    assert clean_url(wrapped) == "https://shop.example/p?id=7"


def test_nested_wrappers_and_tracking_params() -> None:
    article = "https://news.example/a?utm_source=fb&id=2&fbclid=zz"
    facebook = f"https://l.facebook.com/l.php?u={quote(article, safe='')}"
    wrapped = f"https://google.com/url?url={quote(facebook, safe='')}"
    assert clean_url(wrapped) == "https://news.example/a?id=2"
    assert (
        clean_url("HTTPS://Shop.Example/p?gclid=1&utm_medium=x&color=red#reviews")
        == "https://shop.example/p?color=red"
    )


def test_non_web_urls_are_dropped() -> None:
    assert clean_url("javascript:alert(1)") is None
    assert clean_url("mailto:a@b.c") is None
    assert clean_sources([("ftp://x.example/f", "f", None)]) == []


def test_duplicates_collapse_to_the_first_with_missing_fields_filled() -> None:
    sources = clean_sources(
        [
            ("https://www.shop.example/p/?utm_campaign=a", None, None),
            ("http://shop.example/p", "Widget Pro", "Now $449"),
            ("https://www.google.com/url?q=https://shop.example/p/", "Other title", "x"),
            ("https://other.example/", "Other", None),
        ]
    )
    assert sources == [
        Source("https://www.shop.example/p/", "Widget Pro", "Now $449"),
        Source("https://other.example/", "Other", None),
    ]
    assert sources[1].as_dict() == {"uri": "https://other.example/", "title": "Other"}


def test_grounding_redirects_are_kept_and_deduplicated_by_title() -> None:
    sources = clean_sources(
        [
            (VERTEX + "AAA", "apple.com", None),
            (VERTEX + "BBB", "apple.com", None),
            (VERTEX + "CCC", "macrumors.com", None),
        ]
    )
    assert [(s.uri, s.title) for s in sources] == [
        (VERTEX + "AAA", "apple.com"),
        (VERTEX + "CCC", "macrumors.com"),
    ]


def test_long_snippets_are_shortened() -> None:
    [source] = clean_sources([("https://a.example", "A", "word " * 500)])
    assert source.snippet is not None
    assert len(source.snippet) == SNIPPET_LIMIT and source.snippet.endswith("…")
