"""fetch_and_clean: per-URL results, in order, errors collected, clean errors included."""
from __future__ import annotations

from badserver import fast_settings, html
from scraper.errors import BadStatus, CleanError, EmptyArticle
from scraper.models import Article
from scraper.pipeline import run_fetch_and_clean


def fake_clean(html_text, url, *, final_url=None, fetched_at=None):
    if "empty" in html_text:
        raise EmptyArticle("no article body found")
    if "boom" in html_text:
        raise ValueError("cleaner bug")
    return Article(url=url, text=html_text[:20], final_url=final_url, fetched_at=fetched_at)


def test_results_in_input_order_with_errors(server):
    server.route("/a", html("<p>first page</p>"))
    server.route("/e", html("<p>empty</p>"))
    server.route("/b", html("<p>boom</p>"))
    urls = [server.url(p) for p in ("/a", "/missing", "/e", "/b")]
    results = run_fetch_and_clean(urls, fast_settings(), clean_fn=fake_clean)
    assert [r.url for r in results] == urls
    ok, missing, empty, boom = results
    assert ok.ok and ok.article.text.startswith("<p>first") and ok.article.fetched_at
    assert ok.page.final_url == urls[0]
    assert isinstance(missing.error, BadStatus) and missing.page is None
    assert isinstance(empty.error, EmptyArticle) and empty.page is not None
    assert isinstance(boom.error, CleanError) and "cleaner bug" in str(boom.error)


def test_real_cleaner_default(server):
    body = "<html><body><article>" + "<p>A sentence about rivers and rain in the hills.</p>" * 8 \
        + "</article></body></html>"
    server.route("/r", html(body))
    (result,) = run_fetch_and_clean([server.url("/r")], fast_settings())
    assert result.ok, result.error
    assert "rivers and rain" in result.article.text
