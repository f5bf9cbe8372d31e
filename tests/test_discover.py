"""Discovery: feeds, autodiscovery, sitemaps, URL lists; XML without entities."""
from __future__ import annotations

import asyncio
import codecs
import gzip
import time
import zlib
from datetime import datetime, timezone

import pytest

from badserver import fast_settings, send
from scraper.discover import (
    Candidate, check_xml_safe, discover_feeds, find_feed_links, parse_feed, parse_sitemap,
    parse_url_list, read_feed, read_sitemap, read_url_list,
)
from scraper.errors import BlockedURL, DiscoveryError, TooLarge
from scraper.fetch import Fetcher

SINCE = datetime(2024, 3, 1, tzinfo=timezone.utc)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Site</title><link>https://news.example/</link>
<item><title>Old story</title><link>https://news.example/old</link>
  <pubDate>Mon, 05 Feb 2024 10:00:00 GMT</pubDate></item>
<item><title>New story</title><link>https://news.example/new?utm_source=rss</link>
  <pubDate>Tue, 05 Mar 2024 10:00:00 +0100</pubDate></item>
<item><title>Relative</title><link>/rel</link><pubDate>Wed, 06 Mar 2024 10:00:00 GMT</pubDate></item>
<item><title>Bad scheme</title><link>javascript:alert(1)</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><title>Atom new</title><link href="https://a.example/1"/><updated>2024-03-02T00:00:00Z</updated></entry>
<entry><title>Atom old</title><link href="https://a.example/0"/><updated>2024-01-02T00:00:00Z</updated></entry>
</feed>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://x.example/a</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title>
<item><title>&xxe;</title><link>https://x.example/a</link><description>&xxe;</description></item>
</channel></rss>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "file:///etc/passwd">
<rss version="2.0"><channel><title>t</title>
<item><title>Fine</title><link>https://x.example/a</link></item></channel></rss>"""


def sitemap(urls) -> bytes:
    rows = "".join(f"<url><loc>{u}</loc>{f'<lastmod>{m}</lastmod>' if m else ''}</url>"
                   for u, m in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>').encode()


def index(urls) -> bytes:
    rows = "".join(f"<sitemap><loc>{u}</loc><lastmod>{m}</lastmod></sitemap>" for u, m in urls)
    return (f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}'
            f'</sitemapindex>').encode()


# ---------------------------------------------------------------------- feeds (bytes)

def test_rss_items_newer_than_since():
    items = parse_feed(RSS, "https://news.example/feed", SINCE)
    assert [c.title for c in items] == ["Relative", "New story"]
    assert items[0].url == "https://news.example/rel"
    assert items[1].published == "2024-03-05T09:00:00+00:00"
    assert len(parse_feed(RSS, "https://news.example/feed")) == 3  # no since: all http(s) items


def test_atom_feed():
    items = parse_feed(ATOM, "https://a.example/feed", SINCE)
    assert items == (Candidate("https://a.example/1", "2024-03-02T00:00:00+00:00", "Atom new"),)


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE])
def test_entity_feeds_refused_fast(doc):
    start = time.monotonic()
    with pytest.raises(DiscoveryError) as err:
        parse_feed(doc, "https://x.example/feed")
    assert time.monotonic() - start < 1.0
    assert "root:" not in str(err.value)


def test_entities_refused_in_utf16_too():
    doc = codecs.BOM_UTF16_LE + XXE.decode().replace('"1.0"?>', '"1.0" encoding="utf-16"?>'
                                                     ).encode("utf-16-le")
    with pytest.raises(DiscoveryError):
        check_xml_safe(doc)


def test_external_dtd_is_never_loaded():
    items = parse_feed(EXTERNAL_DTD, "https://x.example/feed")
    assert [c.title for c in items] == ["Fine"]
    assert all("root:" not in (c.title or "") for c in items)


def test_not_a_feed():
    with pytest.raises(DiscoveryError):
        parse_feed(b"<html><body>hello</body></html>", "https://x.example/")


def test_autodiscovery():
    html = """<html><head><base href="https://cdn.example/sub/">
    <link rel="alternate" type="application/rss+xml" href="feed.xml">
    <link rel="alternate" type="application/atom+xml" href="https://x.example/atom">
    <link rel="alternate" hreflang="fr" href="https://x.example/fr/">
    <link rel="stylesheet" type="text/css" href="s.css"></head></html>"""
    assert find_feed_links(html, "https://x.example/") == (
        "https://cdn.example/sub/feed.xml", "https://x.example/atom")


# ---------------------------------------------------------------------- sitemaps (bytes)

def test_sitemap_filtered_by_lastmod():
    data = sitemap([("https://s.example/a", "2024-02-01"), ("https://s.example/b", "2024-03-02"),
                    ("https://s.example/c", "2024-03-01T01:00:00+02:00"), ("https://s.example/d", None)])
    found = parse_sitemap(data, SINCE)
    assert [c.url for c in found.candidates] == ["https://s.example/b", "https://s.example/d"]


def test_gzipped_sitemap_by_magic_bytes():
    data = gzip.compress(sitemap([("https://s.example/a", "2024-05-01")]))
    assert parse_sitemap(data).candidates[0].url == "https://s.example/a"


def test_sitemap_gzip_bomb_stops_at_cap():
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(comp.compress(b" " * 1024 * 1024) for _ in range(32)) + comp.flush()
    with pytest.raises(DiscoveryError) as err:
        parse_sitemap(bomb, max_bytes=1024 * 1024)
    assert "over" in str(err.value)


def test_sitemap_with_dtd_refused():
    doc = b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>' \
          b'<urlset><url><loc>https://s.example/&x;</loc></url></urlset>'
    with pytest.raises(DiscoveryError):
        parse_sitemap(doc)
    with pytest.raises(DiscoveryError):  # even a bare DOCTYPE: defusedxml forbids DTDs
        parse_sitemap(b'<!DOCTYPE urlset SYSTEM "x.dtd"><urlset></urlset>')


def test_url_list():
    text = "# my sources\nhttps://a.example/1  # kept\n\n  https://b.example/2 oops\n"
    with pytest.raises(DiscoveryError) as err:
        parse_url_list(text)
    assert "line 4" in str(err.value)
    assert parse_url_list("https://a.example/1\n# c\nhttp://b.example/2\nhttps://a.example/1\n") == (
        Candidate("https://a.example/1"), Candidate("http://b.example/2"))


# ---------------------------------------------------------------------- through the fetcher

def run(coro_fn, settings=None):
    async def go():
        async with Fetcher(settings or fast_settings()) as f:
            return await coro_fn(f)
    return asyncio.run(go())


def test_read_feed_conditional(server):
    def feed(conn, req):
        if req.headers.get("if-none-match") == '"f1"':
            send(conn, 304, {"ETag": '"f1"'})
        else:
            send(conn, 200, {"Content-Type": "application/rss+xml", "ETag": '"f1"'}, RSS)
    server.route("/feed", feed)
    first = run(lambda f: read_feed(f, server.url("/feed"), SINCE))
    assert first.etag == '"f1"' and len(first.candidates) == 2
    again = run(lambda f: read_feed(f, server.url("/feed"), SINCE, etag=first.etag))
    assert again.not_modified and again.candidates == ()


def test_read_feed_billion_laughs_over_http(server):
    server.route("/lol", lambda c, r: send(c, 200, {"Content-Type": "application/rss+xml"},
                                           BILLION_LAUGHS))
    start = time.monotonic()
    with pytest.raises(DiscoveryError):
        run(lambda f: read_feed(f, server.url("/lol")))
    assert time.monotonic() - start < 1


def test_read_feed_size_cap(server):
    big = RSS.replace(b"<title>Site</title>", b"<title>" + b"x" * 300_000 + b"</title>")
    server.route("/big", lambda c, r: send(c, 200, {"Content-Type": "application/rss+xml"}, big))
    with pytest.raises(TooLarge):
        run(lambda f: read_feed(f, server.url("/big")), fast_settings(max_bytes=100_000))


def test_discover_feeds_from_homepage(server):
    home = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed"></head></html>'
    server.route("/", lambda c, r: send(c, 200, {"Content-Type": "text/html"}, home))
    assert run(lambda f: discover_feeds(f, server.url("/"))) == (server.url("/feed"),)


def test_read_sitemap_index_and_gzip_children(server):
    server.route("/sitemap.xml", lambda c, r: send(c, 200, {"Content-Type": "application/xml"},
                 index([(server.url("/s1.xml.gz"), "2024-04-01"),
                        (server.url("/s0.xml"), "2023-01-01")])))
    server.route("/s1.xml.gz", lambda c, r: send(c, 200, {"Content-Type": "application/gzip"},
                 gzip.compress(sitemap([("https://s.example/new", "2024-04-01"),
                                        ("https://s.example/old", "2023-04-01")]))))
    server.route("/s0.xml", lambda c, r: send(c, 200, {}, sitemap([("https://s.example/x", None)])))
    found = run(lambda f: read_sitemap(f, server.url("/sitemap.xml"), SINCE))
    assert [c.url for c in found] == ["https://s.example/new"]
    assert server.hits["/s0.xml"] == 0  # the old child sitemap was not even fetched


def test_sitemap_child_on_private_address_refused(server):
    server.route("/sitemap.xml", lambda c, r: send(c, 200, {}, index([("http://10.0.0.1/s.xml",
                                                                        "2024-04-01")])))
    strict = fast_settings(allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    with pytest.raises(BlockedURL):
        run(lambda f: read_sitemap(f, server.url("/sitemap.xml")), strict)


def test_read_url_list(server):
    server.route("/list.txt", lambda c, r: send(c, 200, {"Content-Type": "text/plain"},
                                                b"# list\nhttps://a.example/1\n"))
    assert run(lambda f: read_url_list(f, server.url("/list.txt"))) == (
        Candidate("https://a.example/1"),)
