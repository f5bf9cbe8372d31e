"""`scraper demo`: the cron job on bundled pages, with no network.

A local server on 127.0.0.1 plays several syndication sites, one port each:
the pages of a folder (default ./fixtures) are grouped by the site their
canonical link names, served at that link's path with the site's own origin
rewritten to the local one, with robots.txt, an RSS feed per site (ETag and
Last-Modified, so a later run gets 304s), a homepage announcing the feed and,
on one site, a sitemap. Then ``scraper.run.run`` runs against it.

``DemoServer`` is reused by the tests and the benchmark (failure modes,
pages added between runs, a request log).
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .config import FetchSettings, Settings, Source
from .errors import ConfigError

ORIGIN = b"__DEMO_ORIGIN__"     # placeholder for http://127.0.0.1:PORT in stored pages
_CANONICAL = re.compile(r"<link[^>]+rel=[\"']canonical[\"'][^>]*>", re.I)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass
class DemoPage:
    path: str
    html: bytes                  # with ORIGIN where the site's own origin stood
    published: datetime
    title: str = ""


@dataclass
class DemoSite:
    """One syndication site. ``kind``: how the demo sources read it (feed,
    sitemap or homepage). ``fail``: None, "500" (every request but
    robots.txt answers 500) or "hang" (answers after ``hang`` seconds)."""
    name: str
    pages: dict[str, DemoPage] = field(default_factory=dict)
    kind: str = "feed"
    fail: str | None = None
    hang: float = 5.0

    def add(self, page: DemoPage) -> None:
        self.pages[page.path] = page


@dataclass(frozen=True)
class Hit:
    """One request the server answered."""
    site: str
    path: str
    status: int
    conditional: bool


# ---------------------------------------------------------------------- pages

def page_from_html(html: bytes, fallback_path: str, published: datetime) -> tuple[str, DemoPage]:
    """(site name, page): the site is the canonical link's host (or 'local'),
    the path its path; the site's own origin becomes ORIGIN."""
    text = html.decode("utf-8", errors="replace")
    tag = _CANONICAL.search(text)
    href = _HREF.search(tag.group(0)).group(1) if tag and _HREF.search(tag.group(0)) else None
    title = _TITLE.search(text)
    title_text = re.sub(r"\s+", " ", title.group(1)).strip() if title else fallback_path
    if not href or not urlsplit(href).hostname:
        return "local", DemoPage(fallback_path, html, published, title_text)
    parts = urlsplit(href)
    origin = f"{parts.scheme}://{parts.netloc}".encode()
    body = html.replace(origin, ORIGIN)
    return site_name(parts.hostname), DemoPage(parts.path or "/", body, published, title_text)


def site_name(host: str) -> str:
    """'www.globalresearch.ca' -> 'globalresearch'."""
    host = host.lower().removeprefix("www.")
    return host.split(".")[0] or host


def _page_date(path: Path) -> datetime:
    truth = path.with_suffix(".truth.json")
    try:
        day = json.loads(truth.read_text(encoding="utf-8")).get("date")
        return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    except (OSError, ValueError, TypeError, AttributeError):
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def sites_from_folder(folder: str | Path) -> list[DemoSite]:
    """Sites built from the *.html files of a folder. The site with the most
    pages is read through its sitemap, the second through its homepage."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"no pages folder at {folder}: pass --pages DIR (a folder of .html "
                          f"pages, e.g. the project's fixtures/)")
    sites: dict[str, DemoSite] = {}
    for path in sorted(folder.glob("*.html")):
        name, page = page_from_html(path.read_bytes(), f"/{path.name}", _page_date(path))
        sites.setdefault(name, DemoSite(name)).add(page)
    if not sites:
        raise ConfigError(f"{folder}: no .html pages to serve")
    ordered = sorted(sites.values(), key=lambda s: (-len(s.pages), s.name))
    ordered[0].kind = "sitemap"
    if len(ordered) > 1:
        ordered[1].kind = "homepage"
    return ordered


# ---------------------------------------------------------------------- documents

def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


def feed_xml(site: DemoSite, origin: str) -> bytes:
    items = sorted(site.pages.values(), key=lambda p: p.published, reverse=True)
    entries = "".join(
        f"<item><title>{escape(p.title)}</title><link>{origin}{escape(p.path)}</link>"
        f"<guid>{origin}{escape(p.path)}</guid><pubDate>{_http_date(p.published)}</pubDate></item>"
        for p in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{site.name}</title><link>{origin}/</link><description>demo feed"
            f"</description>{entries}</channel></rss>").encode()


def sitemap_xml(site: DemoSite, origin: str) -> bytes:
    urls = "".join(f"<url><loc>{origin}{escape(p.path)}</loc>"
                   f"<lastmod>{p.published.date().isoformat()}</lastmod></url>"
                   for p in site.pages.values())
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">{urls}</urlset>').encode()


def homepage_html(site: DemoSite, origin: str) -> bytes:
    links = "".join(f'<li><a href="{escape(p.path)}">{escape(p.title)}</a></li>'
                    for p in site.pages.values())
    return (f'<!doctype html><html><head><title>{site.name}</title><link rel="alternate" '
            f'type="application/rss+xml" href="/feed.xml"></head><body><h1>{site.name}</h1>'
            f"<ul>{links}</ul></body></html>").encode()


ROBOTS = b"User-agent: *\nDisallow: /private/\n"


# ---------------------------------------------------------------------- server

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-site"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        site: DemoSite = self.server.site
        demo: DemoServer = self.server.demo
        path = urlsplit(self.path).path
        conditional = bool(self.headers.get("If-None-Match") or
                           self.headers.get("If-Modified-Since"))
        if site.fail and path != "/robots.txt":
            if site.fail == "hang":
                time.sleep(site.hang)
            status = self._send(500, b"server error", "text/plain")
        else:
            status = self._answer(site, demo.origin(site.name), path)
        demo.log(Hit(site.name, path, status, conditional))

    def _answer(self, site: DemoSite, origin: str, path: str) -> int:
        if path == "/robots.txt":
            return self._send(200, ROBOTS, "text/plain")
        if path == "/feed.xml":
            return self._document(feed_xml(site, origin), "application/rss+xml", site)
        if path == "/sitemap.xml" and site.kind == "sitemap":
            return self._document(sitemap_xml(site, origin), "application/xml", site)
        if path == "/":
            return self._send(200, homepage_html(site, origin), "text/html; charset=utf-8")
        page = site.pages.get(path)
        if page is None:
            return self._send(404, b"not found", "text/plain")
        body, etag = self.server.served(page, origin)
        return self._document(body, "text/html; charset=utf-8", site, page.published, etag)

    def _document(self, body: bytes, ctype: str, site: DemoSite,
                  modified: datetime | None = None, etag: str | None = None) -> int:
        etag = etag or _etag(body)
        if modified is None:
            modified = max((p.published for p in site.pages.values()),
                           default=datetime(2000, 1, 1, tzinfo=timezone.utc))
        if self._fresh(etag, modified):
            return self._send(304, b"", ctype, etag, modified)
        return self._send(200, body, ctype, etag, modified)

    def _fresh(self, etag: str, modified: datetime) -> bool:
        match = self.headers.get("If-None-Match")
        if match:
            return etag in [t.strip() for t in match.split(",")]
        since = self.headers.get("If-Modified-Since")
        try:
            return bool(since) and modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None,
              modified: datetime | None = None) -> int:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if etag:
            self.send_header("ETag", etag)
        if modified:
            self.send_header("Last-Modified", _http_date(modified))
        self.send_header("Content-Length", "0" if status == 304 else str(len(body)))
        self.end_headers()
        if status != 304:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        return status


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._served: dict[str, tuple] = {}   # path -> (html, origin, body, etag)

    def served(self, page: DemoPage, origin: str) -> tuple[bytes, str]:
        """A page's body with the local origin in it, and its ETag, worked
        out once per page (again if its html is replaced): a page asked for
        again, or by the benchmark's thousands of requests, costs no copy
        and no hash of ~100 KB."""
        cache = self._served
        hit = cache.get(page.path)
        if hit is None or hit[0] is not page.html or hit[1] != origin:
            body = page.html.replace(ORIGIN, origin.encode())
            hit = cache[page.path] = (page.html, origin, body, _etag(body))
        return hit[2], hit[3]


class DemoServer:
    """Serves ``sites`` on 127.0.0.1, one port each (``ports`` are tried
    first, e.g. those of an earlier demo run; else a free port).
    Use as a context manager; ``hits`` is the request log."""

    def __init__(self, sites: list[DemoSite], ports: dict[str, int] | None = None):
        self.sites = {s.name: s for s in sites}
        self.ports = dict(ports or {})
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._servers: list[_SiteServer] = []

    def __enter__(self) -> DemoServer:
        for site in self.sites.values():
            server = self._bind(self.ports.get(site.name, 0))
            server.site, server.demo = site, self
            self.ports[site.name] = server.server_address[1]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
            self._servers.append(server)
        return self

    @staticmethod
    def _bind(port: int) -> _SiteServer:
        try:
            return _SiteServer(("127.0.0.1", port), _Handler)
        except OSError:
            if port == 0:
                raise
            return _SiteServer(("127.0.0.1", 0), _Handler)

    def __exit__(self, *exc) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def origin(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def take_hits(self) -> list[Hit]:
        """The request log so far, emptied."""
        with self._lock:
            hits, self.hits = self.hits, []
        return hits

    def sources(self, **overrides) -> tuple[Source, ...]:
        """One source per site: its feed, its sitemap or its homepage."""
        out = []
        for site in self.sites.values():
            path = {"feed": "/feed.xml", "sitemap": "/sitemap.xml", "homepage": "/"}[site.kind]
            out.append(Source(site.name, site.kind, (self.origin(site.name) + path,), **overrides))
        return tuple(out)


def demo_settings(db: str, *, workers: int = 0, timeout: float = 10.0) -> Settings:
    """Settings for local sites: private addresses allowed, no delay, robots obeyed."""
    fetch = FetchSettings(delay=0.0, jitter=0.0, allow_private_networks=True, obey_robots=True,
                          timeout=timeout, retries=1, backoff=0.1)
    return Settings(db=db, fetch=fetch, workers=workers)


# ---------------------------------------------------------------------- the demo

def previous_ports(db: str) -> dict[str, int]:
    """Ports of an earlier demo run on this database, so its URLs stay the same."""
    from .store import Store

    if not Path(db).is_file():
        return {}
    try:
        with Store.open_readonly(db) as store:
            _cols, rows = store.query("SELECT name, url FROM sources")
            rows = list(rows)
    except Exception:  # not a scraper database: the run will say so
        return {}
    out = {}
    for name, url in rows:
        parts = urlsplit(url or "")
        if parts.hostname == "127.0.0.1" and parts.port:
            out[name] = parts.port
    return out


def run_demo(db: str, pages: str | Path, *, echo: Callable[[str], None] = print,
             workers: int = 0, progress=None):
    """Serve the pages as sites, run the cron job into ``db``, print what it
    stored. Returns the RunSummary."""
    from .run import run

    sites = sites_from_folder(pages)
    with DemoServer(sites, previous_ports(db)) as server:
        echo(f"demo: {sum(len(s.pages) for s in sites)} pages on {len(sites)} local sites "
             f"(127.0.0.1 ports {min(server.ports.values())}-{max(server.ports.values())})")
        summary = run(demo_settings(db, workers=workers), server.sources(), db,
                      progress=progress)
    echo(f"run: {summary.line()}")
    show_results(db, echo)
    return summary


def show_results(db: str, echo: Callable[[str], None]) -> None:
    """A few records with their original_source, and a sample search."""
    from .store import Store

    with Store.open_readonly(db) as store:
        _cols, rows = store.query(
            "SELECT site, language, original_source, title FROM articles "
            "ORDER BY original_source IS NULL, published DESC, url LIMIT 5")
        rows = list(rows)
        total = next(iter(store.query("SELECT count(*) FROM articles")[1]))[0]
        echo(f"\n{total} articles in {db}; some of them:")
        for site, lang, original, title in rows:
            echo(f"  [{site} | {lang} | original_source: {original or '(own)'}] {title}")
        word = _search_word([r[3] or "" for r in rows])
        hits = store.search(word, limit=3) if word else []
        echo(f"\nscraper search {word!r} --db {db}:")
        for hit in hits:
            echo(f"  {hit['site']}: {hit['title']}\n      {_one_line(hit.get('snippet'))}")


def _search_word(titles: list[str]) -> str | None:
    words = [w for t in titles for w in re.findall(r"[^\W\d_]{6,}", t)]
    return max(words, key=len).lower() if words else None


def _one_line(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()[:160]
