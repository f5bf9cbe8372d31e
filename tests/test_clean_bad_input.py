"""Bad input: a clear CleanError or a bounded-time record, never a crash or a hang."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper import clean
from scraper.errors import CleanError, EmptyArticle, NotHTMLContent, ScraperError

PARA = "<p>" + "This is one sentence of a long article about the harbour and its workers. " * 6 + "</p>\n"


def timed(data, limit: float):
    t0 = time.perf_counter()
    try:
        return clean(data, "https://example.org/a"), time.perf_counter() - t0
    finally:
        assert time.perf_counter() - t0 < limit


def test_empty_file():
    with pytest.raises(NotHTMLContent, match="empty"):
        clean(b"")
    with pytest.raises(NotHTMLContent, match="empty"):
        clean("   \n")


def test_png_is_refused():
    with pytest.raises(NotHTMLContent, match="binary"):
        clean(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)


def test_latin1_page_with_meta_charset():
    html = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'>"
            "<title>Été brûlant</title></head><body><article><h1>Été brûlant</h1>"
            + PARA.replace("harbour", "café") * 4 + "<p>Ça coûte cher à la fête, disent les élèves.</p>"
            "</article></body></html>")
    a = clean(html.encode("latin-1"))
    assert a.title == "Été brûlant"
    assert "Ça coûte cher à la fête" in a.text


def test_latin1_page_without_any_charset_does_not_crash():
    html = ("<html><body><article>" + PARA * 3 + "<p>Le café coûte cher à Zürich.</p></article></body></html>")
    a = clean(html.encode("latin-1"))
    assert "caf" in a.text


def test_20_mb_page_gives_a_clear_error_fast():
    big = "<html><body><article>" + PARA * (20_000_000 // len(PARA)) + "</article></body></html>"
    t0 = time.perf_counter()
    with pytest.raises(NotHTMLContent, match="too large"):
        clean(big.encode())
    assert time.perf_counter() - t0 < 5


def test_100000_nested_divs_bounded():
    html = "<html><body>" + "<div>" * 100_000 + PARA + "</div>" * 100_000 + "</body></html>"
    t0 = time.perf_counter()
    try:
        clean(html)
    except CleanError:
        pass
    assert time.perf_counter() - t0 < 20


def test_page_without_article():
    html = "<html><head><title>Home</title></head><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav></body></html>"
    with pytest.raises(EmptyArticle):
        clean(html)


def test_plain_text_is_not_html():
    with pytest.raises(NotHTMLContent, match="no HTML markup"):
        clean(b"just a line of text, no markup at all")


def test_wrong_type():
    with pytest.raises(NotHTMLContent):
        clean(12345)


TAGS = st.sampled_from(["p", "div", "article", "span", "script", "style", "h1", "h2", "ul", "li", "table",
                        "tr", "td", "a", "meta", "title", "head", "body", "html", "br", "em", "!--", "![CDATA["])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@st.composite
def markup(draw):
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 3))
        tag = draw(TAGS)
        if kind == 0:
            parts.append(f"<{tag}>")
        elif kind == 1:
            parts.append(f"</{tag}>")
        elif kind == 2:
            parts.append(draw(TEXT))
        else:
            attr = draw(st.sampled_from(["class", "lang", "charset", "content", "href", "property", "type"]))
            parts.append(f'<{tag} {attr}="{draw(TEXT)}">')
    return "".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup())
def test_arbitrary_markup_raises_only_our_errors(html):
    try:
        clean(html, "https://example.org/x")
    except ScraperError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_our_errors(data):
    try:
        clean(data)
    except ScraperError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["title", "headline", "author", "datePublished", "@graph", "publisher", "name"]),
                max_size=6), st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                                          lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3),
                                          max_leaves=8))
def test_odd_json_ld_never_crashes(keys, value):
    import json
    ld = json.dumps({k: value for k in keys} | {"@type": "NewsArticle"})
    html = f'<html><head><script type="application/ld+json">{ld}</script></head><body><article>{PARA * 3}</article></body></html>'
    clean(html)
