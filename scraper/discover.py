"""Discovery: which article URLs are new. RSS/Atom feeds (feedparser), feed
autodiscovery from a homepage, sitemaps and sitemap indexes (gzipped too) and
plain URL lists.

The ``parse_*`` functions take bytes and do no I/O; the ``read_*`` helpers
fetch through a ``scraper.fetch.Fetcher`` (same size cap, address policy,
robots and politeness as pages) and return the validators (ETag,
Last-Modified) so a later run can send a conditional request.

XML is never parsed with entity expansion or external entities: a document
with an internal DTD subset or an ``<!ENTITY`` declaration is refused (billion
laughs, ``file://`` entities), an external DOCTYPE is stripped before feedparser
sees it, and sitemaps go through defusedxml with DTDs forbidden.
"""
from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .bodies import GZIP_MAGIC, BodyDecoder
from .errors import DiscoveryError, FetchError

if TYPE_CHECKING:
    from .fetch import Fetcher

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
MAX_SITEMAPS = 50            # child sitemaps followed from one index, at most
MAX_SITEMAP_DEPTH = 2        # index -> index -> urlset, at most
DEFAULT_MAX_BYTES = 10 * 1024 * 1024   # as FetchSettings.max_bytes: the same cap as pages
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!DOCTYPE[^>\[]*(\[)?[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """An item found by discovery: a URL to fetch, with what the source said about it."""
    url: str
    published: str | None = None   # ISO 8601 (feed entry date or sitemap lastmod)
    title: str | None = None


@dataclass(frozen=True)
class Discovered:
    """What one feed/sitemap/list gave, with validators for the next conditional GET."""
    source: str
    candidates: tuple[Candidate, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    children: tuple[Candidate, ...] = ()   # sitemap index: the child sitemaps


# ---------------------------------------------------------------------- XML safety

def _xml_text(data: bytes) -> str:
    """The document as text, good enough to look for declarations in any encoding."""
    head = data[:4]
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return data.decode(codec, errors="replace")
    if head.startswith(b"<\x00"):
        return data.decode("utf-16-le", errors="replace")
    if head.startswith(b"\x00<"):
        return data.decode("utf-16-be", errors="replace")
    return data.decode("latin-1")


def check_xml_safe(data: bytes, source: str = "document") -> None:
    """DiscoveryError if the XML declares entities or an internal DTD subset."""
    text = _xml_text(data)
    if _ENTITY_DECL.search(text):
        raise DiscoveryError(f"{source}: XML entity declarations refused (entity expansion)")
    doctype = _DOCTYPE.search(text)
    if doctype and doctype.group(1):
        raise DiscoveryError(f"{source}: XML with an internal DTD subset refused")


def _strip_doctype(data: bytes) -> bytes:
    """Remove an (external-only) DOCTYPE so no parser ever tries to load it."""
    return re.sub(rb"<!DOCTYPE[^>\[]*>", b"", data, count=1, flags=re.IGNORECASE)


# ---------------------------------------------------------------------- dates

def parse_date(value: str | None) -> datetime | None:
    """A W3C/ISO date or datetime as an aware UTC datetime (None if unreadable)."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _is_new(when: datetime | None, since: datetime | None) -> bool:
    """Undated items are kept (the store skips URLs it already has)."""
    if since is None or when is None:
        return True
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return when > since


def _http_url(url: str | None, base: str | None = None) -> str | None:
    if not url:
        return None
    full = urljoin(base, url.strip()) if base else url.strip()
    return full if urlsplit(full).scheme.lower() in ("http", "https") else None


# ---------------------------------------------------------------------- feeds

def parse_feed(data: bytes, base_url: str | None = None, since: datetime | None = None
               ) -> tuple[Candidate, ...]:
    """Items of an RSS/Atom feed newer than ``since`` (all if None), newest first."""
    import feedparser

    check_xml_safe(data, base_url or "feed")
    # only entry links, dates and titles are read: no HTML sanitising or
    # relative-URI rewriting of entry contents (half of feedparser's time)
    parsed = feedparser.parse(io.BytesIO(_strip_doctype(data)),
                              response_headers={"content-location": base_url or ""},
                              sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no feed elements"
        raise DiscoveryError(f"{base_url or 'document'}: not an RSS/Atom feed ({reason})")
    items = [c for c in (_entry_candidate(e, base_url, since) for e in parsed.entries) if c]
    return tuple(sorted(items, key=lambda c: c.published or "", reverse=True))


def _entry_candidate(entry, base_url: str | None, since: datetime | None) -> Candidate | None:
    url = _http_url(entry.get("link"), base_url)
    if url is None:
        return None
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    when = datetime(*stamp[:6], tzinfo=timezone.utc) if stamp else None
    if not _is_new(when, since):
        return None
    return Candidate(url, when.isoformat() if when else None, entry.get("title") or None)


class _LinkFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.feeds: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        rels = a.get("rel", "").lower().split()
        if tag == "link" and "alternate" in rels and a.get("type", "").lower() in FEED_TYPES:
            self.feeds.append(a.get("href", ""))


def find_feed_links(html: str, page_url: str) -> tuple[str, ...]:
    """Feed URLs announced by <link rel="alternate" type="application/rss+xml|atom+xml">."""
    finder = _LinkFinder()
    finder.feed(html)
    base = urljoin(page_url, finder.base) if finder.base else page_url
    found = (_http_url(href, base) for href in finder.feeds)
    return tuple(dict.fromkeys(u for u in found if u))


# ---------------------------------------------------------------------- sitemaps

def _gunzip(data: bytes, max_bytes: int) -> bytes:
    if not data.startswith(GZIP_MAGIC):
        return data
    decoder = BodyDecoder("gzip", max_bytes)
    try:
        decoder.feed(data)
        return decoder.finish()
    except FetchError as exc:
        raise DiscoveryError(f"gzipped sitemap: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def parse_sitemap(data: bytes, since: datetime | None = None, *, source: str = "sitemap",
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Discovered:
    """URLs (``candidates``) or child sitemaps (``children``, for an index) whose
    lastmod is after ``since``. Gzipped sitemaps are recognised by magic bytes."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    data = _gunzip(data, max_bytes)
    check_xml_safe(data, source)
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise DiscoveryError(f"{source}: unreadable sitemap ({exc})") from exc
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"{source}: not a sitemap (root element <{kind}>)")
    entries = tuple(_sitemap_entries(root, since))
    if kind == "sitemapindex":
        return Discovered(source, children=entries)
    return Discovered(source, candidates=entries)


def _sitemap_entries(root, since: datetime | None):
    for node in root:
        fields = {_local(child.tag): (child.text or "").strip() for child in node}
        url = _http_url(fields.get("loc"))
        when = parse_date(fields.get("lastmod"))
        if url and _is_new(when, since):
            yield Candidate(url, when.isoformat() if when else None)


# ---------------------------------------------------------------------- URL lists

def parse_url_list(data: bytes | str, source: str = "URL list") -> tuple[Candidate, ...]:
    """One URL a line; blank lines and '#' comments (whole-line or after
    whitespace) skipped. DiscoveryError on a
    line that is not an http(s) URL (naming the line)."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        url = _http_url(line)
        if url is None or not urlsplit(url).hostname or any(ch.isspace() for ch in line):
            raise DiscoveryError(f"{source}: line {number} is not an http(s) URL: {line[:80]!r}")
        out.append(Candidate(url))
    return tuple(dict.fromkeys(out))


# ---------------------------------------------------------------------- async helpers

async def read_feed(fetcher: Fetcher, url: str, since: datetime | None = None,
                    etag: str | None = None, last_modified: str | None = None, *,
                    parse: Callable[..., Awaitable[tuple[Candidate, ...]]] | None = None
                    ) -> Discovered:
    """Fetch and parse a feed (conditional GET when validators are given).
    ``parse``: an async stand-in for parse_feed (same arguments), e.g. one
    that runs it in a process pool."""
    resp = await fetcher.fetch_bytes(url, etag=etag, last_modified=last_modified)
    if resp.not_modified:
        return Discovered(url, etag=resp.etag or etag, last_modified=resp.last_modified
                          or last_modified, not_modified=True)
    if parse is not None:
        items = await parse(resp.body, resp.final_url, since)
    else:
        items = parse_feed(resp.body, resp.final_url, since)
    return Discovered(url, items, resp.etag, resp.last_modified)


async def discover_feeds(fetcher: Fetcher, homepage: str) -> tuple[str, ...]:
    """Feed URLs announced by a homepage's <link rel="alternate">."""
    page = await fetcher.fetch(homepage)
    return find_feed_links(page.html, page.final_url)


async def read_sitemap(fetcher: Fetcher, url: str, since: datetime | None = None,
                       *, depth: int = MAX_SITEMAP_DEPTH) -> tuple[Candidate, ...]:
    """All page URLs newer than ``since`` from a sitemap or sitemap index
    (children followed up to ``depth`` levels and MAX_SITEMAPS per index)."""
    resp = await fetcher.fetch_bytes(url)
    found = parse_sitemap(resp.body, since, source=url, max_bytes=fetcher.settings.max_bytes)
    items = list(found.candidates)
    if depth > 0:
        for child in found.children[:MAX_SITEMAPS]:
            items.extend(await read_sitemap(fetcher, child.url, since, depth=depth - 1))
    return tuple(dict.fromkeys(items))


async def read_url_list(fetcher: Fetcher, url: str) -> tuple[Candidate, ...]:
    """Fetch a plain-text URL list."""
    resp = await fetcher.fetch_bytes(url)
    return parse_url_list(resp.body, url)
