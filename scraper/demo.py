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

import asyncio
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
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

_REASONS = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            500: "Internal Server Error", 501: "Not Implemented"}
_MAX_HEAD = 64 * 1024


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    ctype: str = "text/plain"
    etag: str | None = None
    modified: datetime | None = None

    def encode(self, keep_alive: bool, head_only: bool = False) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}",
                 "Server: demo-site", f"Date: {_http_date(datetime.now(timezone.utc))}",
                 f"Content-Type: {self.ctype}"]
        if self.etag:
            lines.append(f"ETag: {self.etag}")
        if self.modified:
            lines.append(f"Last-Modified: {_http_date(self.modified)}")
        body = b"" if self.status == 304 else self.body
        lines.append(f"Content-Length: {len(body)}")
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only else head + body


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def _fresh(headers: dict[str, str], etag: str, modified: datetime) -> bool:
    match = headers.get("if-none-match")
    if match:
        return etag in [t.strip() for t in match.split(",")]
    since = headers.get("if-modified-since")
    try:
        return bool(since) and modified.replace(microsecond=0) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]] | None:
    """(method, path, version, lower-cased headers) of a request head, None if malformed."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                return None
            headers[name.strip().lower()] = value.strip()
    return method, urlsplit(target).path, version, headers


class DemoServer:
    """Serves ``sites`` on 127.0.0.1, one port each (``ports`` are tried
    first, e.g. those of an earlier demo run; else a free port).
    Use as a context manager; ``hits`` is the request log.

    One asyncio event loop in one background thread answers every site (a
    thread per site and per connection, as http.server has, cost the
    benchmark's run ~0.8 ms of CPU per page: the local "web" competed with
    the run for the cores). HTTP/1.1 with keep-alive, GET and HEAD."""

    def __init__(self, sites: list[DemoSite], ports: dict[str, int] | None = None):
        self.sites = {s.name: s for s in sites}
        self.ports = dict(ports or {})
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._clients: set[asyncio.Task] = set()
        self._served: dict[tuple[str, str], tuple] = {}  # (site, path) -> (html, origin, body, etag)

    def __enter__(self) -> DemoServer:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, daemon=True, name="demo-sites")
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), loop).result()
        except BaseException:
            self.__exit__()
            raise
        return self

    async def _start(self) -> None:
        for site in self.sites.values():
            server = await self._bind(site, self.ports.get(site.name, 0))
            self._servers.append(server)
            self.ports[site.name] = server.sockets[0].getsockname()[1]

    async def _bind(self, site: DemoSite, port: int):
        async def serve(reader, writer):
            task = asyncio.current_task()
            self._clients.add(task)
            task.add_done_callback(self._clients.discard)
            await self._connection(site, reader, writer)
        try:
            return await asyncio.start_server(serve, "127.0.0.1", port, reuse_address=True,
                                              limit=_MAX_HEAD)
        except OSError:
            if port == 0:
                raise
            return await asyncio.start_server(serve, "127.0.0.1", 0, reuse_address=True,
                                              limit=_MAX_HEAD)

    def __exit__(self, *exc) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)
        loop.close()

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, *(s.wait_closed() for s in self._servers),
                             return_exceptions=True)
        self._servers.clear()

    async def _connection(self, site: DemoSite, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return   # the client closed the connection
                except asyncio.LimitOverrunError:
                    writer.write(_Reply(400, b"request head too large").encode(False))
                    return
                request = _parse_head(head[:-4])
                if request is None:
                    writer.write(_Reply(400, b"bad request").encode(False))
                    return
                method, path, version, headers = request
                length = headers.get("content-length", "0")
                if not length.isdigit():
                    writer.write(_Reply(400, b"bad content-length").encode(False))
                    return
                await reader.readexactly(int(length))   # a body (none expected) is skipped
                connection = headers.get("connection", "").lower()
                keep = (connection != "close" if version == "HTTP/1.1"
                        else connection == "keep-alive")
                if method not in ("GET", "HEAD"):
                    reply = _Reply(501, b"not implemented")
                else:
                    reply = await self._reply(site, path, headers)
                    self.log(Hit(site.name, path, reply.status,
                                 bool(headers.get("if-none-match")
                                      or headers.get("if-modified-since"))))
                writer.write(reply.encode(keep, head_only=method == "HEAD"))
                if not keep:
                    return
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _reply(self, site: DemoSite, path: str, headers: dict[str, str]) -> _Reply:
        if site.fail and path != "/robots.txt":
            if site.fail == "hang":
                await asyncio.sleep(site.hang)
            return _Reply(500, b"server error")
        origin = self.origin(site.name)
        if path == "/robots.txt":
            return _Reply(200, ROBOTS)
        if path == "/feed.xml":
            return self._document(headers, feed_xml(site, origin), "application/rss+xml", site)
        if path == "/sitemap.xml" and site.kind == "sitemap":
            return self._document(headers, sitemap_xml(site, origin), "application/xml", site)
        if path == "/":
            return _Reply(200, homepage_html(site, origin), "text/html; charset=utf-8")
        page = site.pages.get(path)
        if page is None:
            return _Reply(404, b"not found")
        body, etag = self.served(site, page, origin)
        return self._document(headers, body, "text/html; charset=utf-8", site, page.published,
                              etag)

    @staticmethod
    def _document(headers: dict[str, str], body: bytes, ctype: str, site: DemoSite,
                  modified: datetime | None = None, etag: str | None = None) -> _Reply:
        etag = etag or _etag(body)
        if modified is None:
            modified = max((p.published for p in site.pages.values()),
                           default=datetime(2000, 1, 1, tzinfo=timezone.utc))
        status = 304 if _fresh(headers, etag, modified) else 200
        return _Reply(status, body, ctype, etag, modified)

    def served(self, site: DemoSite, page: DemoPage, origin: str) -> tuple[bytes, str]:
        """A page's body with the local origin in it, and its ETag, worked
        out once per page (again if its html is replaced): a page asked for
        again, or by the benchmark's thousands of requests, costs no copy
        and no hash of ~100 KB."""
        key = (site.name, page.path)
        hit = self._served.get(key)
        if hit is None or hit[0] is not page.html or hit[1] != origin:
            body = page.html.replace(ORIGIN, origin.encode())
            hit = self._served[key] = (page.html, origin, body, _etag(body))
        return hit[2], hit[3]

    def prepare(self) -> None:
        """Work out every page's served body and ETag now (see ``served``),
        as a web server's files are ready before a client comes: the
        benchmark's first run then finds the local "web" as cheap as later
        ones do."""
        for site in self.sites.values():
            origin = self.origin(site.name)
            for page in site.pages.values():
                self.served(site, page, origin)

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
