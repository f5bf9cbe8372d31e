"""The fetcher against a real misbehaving server on 127.0.0.1: deadlines,
truncation, size caps, redirects, retries, politeness, robots, conditional GET."""
from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib

import brotli
import pytest

from badserver import fast_settings, fetch_sync, html, reset, response_bytes, send
from scraper.errors import (
    BadStatus, BlockedURL, ConnectError, FetchTimeout, RetryLater, RobotsDisallowed,
    RobotsUnavailable, TooLarge, TooManyRedirects, Truncated,
)
from scraper.fetch import Fetcher, fetch, fetch_all, parse_retry_after

PAGE = "<html><head><title>T</title></head><body><p>Hello world</p></body></html>"
BOMB_SIZE = 64 * 1024 * 1024   # decoded size of the bombs; the cap in tests is 1 MiB


def timed(url, settings=None, **kw):
    start = time.monotonic()
    result = fetch_sync(url, settings, **kw)
    return result, time.monotonic() - start


# ---------------------------------------------------------------------- basics

def test_plain_page_and_user_agent(server):
    server.route("/", html(PAGE))
    page, _ = timed(server.url("/"))
    assert page.status == 200 and "Hello world" in page.html
    assert page.final_url == server.url("/") and page.encoding == "utf-8"
    assert server.log[0].headers["user-agent"].startswith("scraper/")


def test_sync_fetch_and_fetch_all(server):
    server.route("/a", html(PAGE))
    assert "Hello" in fetch(server.url("/a"), fast_settings()).html
    out = fetch_all([server.url("/a"), server.url("/missing")], fast_settings())
    assert "Hello" in out[0].html
    assert isinstance(out[1], BadStatus) and out[1].status == 404


def test_connection_refused_is_connect_error():
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    result, elapsed = timed(url)
    assert isinstance(result, ConnectError)
    assert elapsed < 2


# ---------------------------------------------------------------------- deadlines

def test_slow_drip_hits_total_deadline(server):
    def drip(conn, req):
        conn.sendall(response_bytes(200, {"Content-Type": "text/html"}, b"", content_length=100)
                     .rstrip(b"\r\n") + b"\r\n\r\n")
        for _ in range(100):
            if server.stopping.wait(0.5):
                return
            conn.sendall(b"x")
    server.route("/drip", drip)
    result, elapsed = timed(server.url("/drip"), fast_settings(timeout=1.5))
    assert isinstance(result, FetchTimeout)
    assert "timed out after 1.5 s" in str(result)
    assert 1.4 < elapsed < 3.0  # each byte arrives in time: only a total deadline stops it


def test_hang_after_headers(server):
    def hang(conn, req):
        conn.sendall(response_bytes(200, {"Content-Type": "text/html"}, b"", content_length=50))
        server.stopping.wait(10)
    server.route("/hang", hang)
    result, elapsed = timed(server.url("/hang"), fast_settings(timeout=1.0))
    assert isinstance(result, FetchTimeout)
    assert elapsed < 2.5


def slow_redirect(server, location, seconds, status=302):
    """A hop that takes ``seconds`` before answering with a redirect."""
    def handler(conn, req):
        if not server.stopping.wait(seconds):
            send(conn, status, {"Location": location})
    return handler


def test_deadline_covers_all_redirect_hops(server):
    # Each hop is well within the deadline; the chain as a whole is not.
    for i in range(3):
        server.route(f"/slow{i}", slow_redirect(server, f"/slow{i + 1}", 0.6))
    server.route("/slow3", html(PAGE))
    result, elapsed = timed(server.url("/slow0"), fast_settings(timeout=1.2))
    assert isinstance(result, FetchTimeout), result
    assert "timed out after 1.2 s" in str(result)
    assert 1.1 < elapsed < 2.5
    assert server.hits["/slow3"] == 0


def test_retry_after_wait_gets_a_fresh_deadline(server):
    state = {"n": 0}

    def slow_then_ok(conn, req):
        state["n"] += 1
        if server.stopping.wait(0.6):
            return
        if state["n"] == 1:
            send(conn, 503, {"Retry-After": "0"}, b"busy")
        else:
            send(conn, 200, {"Content-Type": "text/html"}, PAGE.encode())
    server.route("/busy", slow_then_ok)
    # 0.6 s + 0.6 s of network time: over 1 s together, but each attempt fits.
    page, elapsed = timed(server.url("/busy"), fast_settings(timeout=1.0))
    assert page.status == 200 and server.hits["/busy"] == 2
    assert 1.15 < elapsed < 3.0


def test_politeness_wait_between_hops_is_not_network_time(server):
    server.route("/p0", redirect_to("/p1"))
    server.route("/p1", html(PAGE))
    # The host's delay (1 s) passes between the hops; the deadline (0.8 s) counts
    # only connect, headers and body.
    page, elapsed = timed(server.url("/p0"), fast_settings(timeout=0.8, delay=1.0))
    assert page.status == 200 and page.final_url == server.url("/p1")
    assert 0.95 < elapsed < 2.5


# ---------------------------------------------------------------------- truncation

def test_reset_mid_body_is_truncated(server):
    def cut(conn, req):
        conn.sendall(response_bytes(200, {"Content-Type": "text/html"}, b"<html>" + b"a" * 5000,
                                    content_length=100_000))
        time.sleep(0.1)
        reset(conn)
    server.route("/reset", cut)
    result, elapsed = timed(server.url("/reset"))
    assert isinstance(result, Truncated), result
    assert elapsed < 2


def test_content_length_larger_than_body(server):
    server.route("/short", lambda c, r: send(c, 200, {"Content-Type": "text/html"},
                                             b"<html><p>only part", content_length=1000))
    result, _ = timed(server.url("/short"))
    assert isinstance(result, Truncated)


def test_truncated_gzip_stream(server):
    body = gzip.compress(PAGE.encode() * 50)[:-30]
    server.route("/gz", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                   "Content-Encoding": "gzip"}, body))
    assert isinstance(fetch_sync(server.url("/gz")), Truncated)


# ---------------------------------------------------------------------- size caps

@pytest.fixture(scope="module")
def gzip_bomb():
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1024 * 1024)
    data = b"".join(comp.compress(zeros) for _ in range(BOMB_SIZE // len(zeros)))
    return data + comp.flush()


def _bounded_fetch(url, max_bytes=1024 * 1024):
    tracemalloc.start()
    try:
        result, elapsed = timed(url, fast_settings(max_bytes=max_bytes))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


@pytest.mark.parametrize("encoding", ["gzip", "gzip-in-gzip", "gzip, gzip"])
def test_gzip_bombs_stop_at_cap(server, gzip_bomb, encoding):
    body = gzip_bomb if encoding == "gzip" else gzip.compress(gzip_bomb)
    header = "gzip" if encoding == "gzip-in-gzip" else encoding
    assert len(body) < 1024 * 1024  # small on the wire: the raw cap alone would not catch it
    server.route("/bomb", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                     "Content-Encoding": header}, body))
    result, elapsed, peak = _bounded_fetch(server.url("/bomb"))
    assert isinstance(result, TooLarge), result
    assert "decoded" in str(result)
    assert peak < 8 * 1024 * 1024, peak  # vs 64 MiB decoded
    assert elapsed < 3


def test_brotli_and_deflate_bombs_stop_at_cap(server):
    zeros = b"\0" * (32 * 1024 * 1024)
    br = brotli.compress(zeros, quality=5)
    deflated = zlib.compress(zeros, 9)
    server.route("/br", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                   "Content-Encoding": "br"}, br))
    server.route("/df", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                   "Content-Encoding": "deflate"}, deflated))
    for path in ("/br", "/df"):
        result, _, peak = _bounded_fetch(server.url(path))
        assert isinstance(result, TooLarge), (path, result)
        assert peak < 8 * 1024 * 1024, (path, peak)


def test_compressed_pages_decode(server):
    body = (PAGE * 20).encode()
    server.route("/g", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                  "Content-Encoding": "gzip"}, gzip.compress(body)))
    server.route("/b", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                  "Content-Encoding": "br"}, brotli.compress(body)))
    server.route("/d", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                  "Content-Encoding": "deflate"},
                                         zlib.compress(body)))
    for path in ("/g", "/b", "/d"):
        assert fetch_sync(server.url(path)).html == body.decode(), path


def test_plain_body_over_cap(server):
    big = b"<html>" + b"a" * (300 * 1024)
    server.route("/big", lambda c, r: send(c, 200, {"Content-Type": "text/html"}, big))
    server.route("/nolen", lambda c, r: (c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                                   b"Connection: close\r\n\r\n" + big)))
    result = fetch_sync(server.url("/big"), fast_settings(max_bytes=100 * 1024))
    assert isinstance(result, TooLarge) and "Content-Length" in str(result)
    result = fetch_sync(server.url("/nolen"), fast_settings(max_bytes=100 * 1024))
    assert isinstance(result, TooLarge) and "raw" in str(result)


# ---------------------------------------------------------------------- redirects

def redirect_to(location, status=302):
    return lambda c, r: send(c, status, {"Location": location})


def test_redirect_followed_and_recorded(server):
    server.route("/old", redirect_to("/new", 301))
    server.route("/new", html(PAGE))
    page = fetch_sync(server.url("/old"))
    assert page.url == server.url("/old") and page.final_url == server.url("/new")
    assert page.redirects == (server.url("/new"),)


def test_redirect_loop(server):
    server.route("/a", redirect_to("/b"))
    server.route("/b", redirect_to("/a"))
    result, elapsed = timed(server.url("/a"))
    assert isinstance(result, TooManyRedirects) and "loop" in str(result)
    assert elapsed < 2


def test_six_hop_chain_refused_five_allowed(server):
    for i in range(6):
        server.route(f"/hop{i}", redirect_to(f"/hop{i + 1}"))
    server.route("/hop6", html(PAGE))
    result = fetch_sync(server.url("/hop0"))
    assert isinstance(result, TooManyRedirects) and "more than 5" in str(result)
    assert server.hits["/hop6"] == 0
    assert fetch_sync(server.url("/hop1")).final_url == server.url("/hop6")  # 5 hops: fine


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
                                    "http://[::1]:9/", "http://[fe80::1]:9/"])
def test_redirect_to_private_address_refused(server, target):
    # The policy is on; only this test server's own address is let through.
    strict = fast_settings(allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    server.route("/go", redirect_to(target))
    result, elapsed = timed(server.url("/go"), strict)
    assert isinstance(result, BlockedURL), result
    assert elapsed < 1.0  # refused before any connection attempt


def test_unparseable_redirect_location_refused(server):
    server.route("/bad", redirect_to("http://example.org:port/x"))
    result, elapsed = timed(server.url("/bad"))
    assert isinstance(result, BlockedURL) and "Location" in str(result), result
    assert server.hits["/bad"] == 1 and elapsed < 1.0  # refused, not retried


def test_redirect_to_other_scheme_refused(server):
    server.route("/ftp", redirect_to("ftp://example.org/x"))
    server.route("/file", redirect_to("file:///etc/passwd"))
    for path in ("/ftp", "/file"):
        result = fetch_sync(server.url(path))
        assert isinstance(result, BlockedURL) and "scheme" in str(result)


def test_loopback_refused_when_policy_on(server):
    server.route("/", html(PAGE))
    result = fetch_sync(server.url("/"), fast_settings(allow_private_networks=False))
    assert isinstance(result, BlockedURL) and "loopback" in str(result)
    assert server.hits["/"] == 0


# ---------------------------------------------------------------------- retries

def flaky(first_status, first_headers, then=PAGE, times=1):
    state = {"n": 0}

    def handler(conn, req):
        state["n"] += 1
        if state["n"] <= times:
            send(conn, first_status, first_headers, b"busy")
        else:
            send(conn, 200, {"Content-Type": "text/html"}, then.encode())
    return handler


def test_429_retry_after_then_200(server):
    server.route("/r", flaky(429, {"Retry-After": "1"}))
    server.route("/other", html(PAGE))

    async def go():
        async with Fetcher(fast_settings()) as f:
            return await asyncio.gather(f.fetch(server.url("/r")), f.fetch(server.url("/other")))
    start = time.monotonic()
    page, other = asyncio.run(go())
    elapsed = time.monotonic() - start
    assert page.status == 200 and other.status == 200 and server.hits["/r"] == 2
    assert 0.95 <= elapsed < 2.0
    first, retry = server.requests_for("/r")
    assert retry.at - first.at >= 0.95
    # Retry-After applies to the host: the other page waited too.
    assert server.requests_for("/other")[0].at - first.at >= 0.95


def test_retry_after_beyond_cap_gives_up_at_once(server):
    server.route("/later", flaky(429, {"Retry-After": "86400"}, times=10))
    result, elapsed = timed(server.url("/later"))
    assert isinstance(result, RetryLater) and "86400" in str(result)
    assert elapsed < 1.5 and server.hits["/later"] == 1


def test_503_then_200_with_backoff(server):
    server.route("/s", flaky(503, {}))
    page, elapsed = timed(server.url("/s"))
    assert page.status == 200 and server.hits["/s"] == 2
    assert 0.04 < elapsed < 1.0


def test_persistent_503_gives_bad_status_after_retries(server):
    server.route("/down", flaky(503, {}, times=99))
    result, elapsed = timed(server.url("/down"))
    assert isinstance(result, BadStatus) and result.status == 503
    assert server.hits["/down"] == 3  # first try + 2 retries
    assert elapsed < 1.5


def test_retry_after_http_date():
    now = time.time()
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert 28 <= parse_retry_after(stamp, now) <= 31
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


def test_retry_on_connection_drop_before_response(server):
    state = {"n": 0}

    def drop_once(conn, req):
        state["n"] += 1
        if state["n"] == 1:
            reset(conn)
        else:
            send(conn, 200, {"Content-Type": "text/html"}, PAGE.encode())
    server.route("/drop", drop_once)
    page = fetch_sync(server.url("/drop"))
    assert page.status == 200 and server.hits["/drop"] == 2


# ---------------------------------------------------------------------- politeness, robots

def test_robots_disallow_and_crawl_delay(server):
    robots = "User-agent: *\nDisallow: /private\nCrawl-delay: 0.6\n"
    server.route("/robots.txt", lambda c, r: send(c, 200, {"Content-Type": "text/plain"},
                                                  robots.encode()))
    server.route("/a", html(PAGE))
    server.route("/b", html(PAGE))
    server.route("/private", html(PAGE))
    polite = fast_settings(obey_robots=True)

    async def go():
        async with Fetcher(polite) as f:
            pages = await asyncio.gather(f.fetch(server.url("/a")), f.fetch(server.url("/b")),
                                         f.fetch(server.url("/private")), return_exceptions=True)
        return pages
    a, b, private = asyncio.run(go())
    assert a.status == 200 and b.status == 200
    assert isinstance(private, RobotsDisallowed)
    assert server.hits["/robots.txt"] == 1 and server.hits["/private"] == 0
    times = sorted(r.at for r in server.log if r.path in ("/a", "/b"))
    assert times[1] - times[0] >= 0.58  # Crawl-delay honoured between the two requests


def test_delay_between_requests_to_one_host(server):
    server.route("/x", html(PAGE))

    async def go():
        async with Fetcher(fast_settings(delay=0.3)) as f:
            await asyncio.gather(*(f.fetch(server.url("/x")) for _ in range(3)))
    asyncio.run(go())
    times = sorted(r.at for r in server.log)
    assert all(b - a >= 0.28 for a, b in zip(times, times[1:])), times


def test_robots_5xx_means_try_later(server):
    server.route("/robots.txt", lambda c, r: send(c, 503, {}, b"down"))
    server.route("/a", html(PAGE))
    result = fetch_sync(server.url("/a"), fast_settings(obey_robots=True, retries=0))
    assert isinstance(result, RobotsUnavailable) and "later" in str(result)
    assert server.hits["/a"] == 0


def test_robots_4xx_means_allowed(server):
    server.route("/a", html(PAGE))  # /robots.txt answers 404
    page = fetch_sync(server.url("/a"), fast_settings(obey_robots=True))
    assert page.status == 200 and server.hits["/robots.txt"] == 1


def test_robots_timeout_means_try_later(server):
    server.route("/robots.txt", lambda c, r: server.stopping.wait(5))
    server.route("/a", html(PAGE))
    result, elapsed = timed(server.url("/a"), fast_settings(obey_robots=True, timeout=0.5))
    assert isinstance(result, RobotsUnavailable)
    assert elapsed < 1.5


# ---------------------------------------------------------------------- conditional GET

def test_cookies_neither_kept_nor_sent(server):
    server.route("/set", lambda c, r: send(c, 200, {"Content-Type": "text/html",
                                                    "Set-Cookie": "session=abc; Path=/"},
                                           PAGE.encode()))
    server.route("/next", html(PAGE))

    async def go():
        async with Fetcher(fast_settings()) as f:
            await f.fetch(server.url("/set"))
            await f.fetch(server.url("/next"))
    asyncio.run(go())
    assert "cookie" not in server.requests_for("/next")[0].headers


def test_etag_and_last_modified_304(server):
    lm = "Wed, 21 Oct 2015 07:28:00 GMT"

    def conditional(conn, req):
        if req.headers.get("if-none-match") == '"v1"' or req.headers.get("if-modified-since") == lm:
            send(conn, 304, {"ETag": '"v1"'})
        else:
            send(conn, 200, {"Content-Type": "text/html", "ETag": '"v1"', "Last-Modified": lm},
                 PAGE.encode())
    server.route("/c", conditional)
    first = fetch_sync(server.url("/c"))
    assert first.status == 200 and first.etag == '"v1"' and first.last_modified == lm
    again = fetch_sync(server.url("/c"), etag=first.etag)
    assert again.not_modified and again.html == "" and again.last_modified is None
    assert again.etag == '"v1"'
    by_date = fetch_sync(server.url("/c"), last_modified=first.last_modified)
    assert by_date.status == 304
    assert server.log[1].headers["if-none-match"] == '"v1"'
    assert server.log[2].headers["if-modified-since"] == lm
