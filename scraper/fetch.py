"""The fetcher: polite, bounded, robust HTTP. The only module importing httpx
(and its httpcore/anyio layers).

One ``httpx.AsyncClient`` per run (``async with Fetcher(settings) as f``),
created in ``__aenter__`` and closed in ``__aexit__``; every request goes
through it (``build_request`` then ``send(..., stream=True)``, redirects not
followed by the client: they are followed here and checked again). Under the
client sits the run's transport, one small httpcore connection pool per host
(a shared pool scans all its connections on every request), built with public
httpcore APIs only: a lean network backend (no cancel scope per read/write)
that connects only to the addresses the address policy checked (no DNS
rebinding window), and one verifying TLS context. The client keeps no cookie
jar (none is stored or sent, which also saves its per-response cookie work).
Then:

* a global limit on requests in flight, and per host one connection at a time
  with a delay (plus jitter) between requests; robots.txt fetched once per
  host per run (protego), its Crawl-delay honoured; 5xx or a timeout on
  robots.txt means "try this host later" (RobotsUnavailable), 4xx "allowed";
* a total deadline per fetch attempt covering connect, headers and body of
  every redirect hop together (the chain shares one budget; waiting for the
  host's turn is not counted); a retry after its backoff or Retry-After wait
  starts a fresh deadline;
* a body cap counted while streaming on raw AND decoded bytes (bodies are
  decoded here, see ``scraper.bodies``, so compression bombs stop at the cap);
* redirects followed by hand (at most ``max_redirects``), every hop checked
  again by the address policy (``scraper.netpolicy``) and robots.txt; a
  Location that cannot be parsed is refused (BlockedURL);
* retries on 408/429/5xx and connection errors with exponential backoff and
  jitter, Retry-After honoured up to a cap, beyond it RetryLater at once;
* a body shorter than Content-Length or cut by a reset raises Truncated;
* conditional GET (If-None-Match / If-Modified-Since): a 304 is a Page with
  status 304 and html "".

``fetch_bytes`` is the lower level shared with discovery (feeds, sitemaps):
same limits and policy, no HTML check. TLS certificates are always verified.
See benchmarks/bench_fetch.py for the cost per page.
"""
from __future__ import annotations

import asyncio
import email.utils
import random
import select
import ssl
import time
from collections.abc import Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import urljoin

import anyio
import anyio.abc
import anyio.streams.tls
import httpcore
import httpx
from protego import Protego

from . import bodies
from .config import FetchSettings, Settings
from .errors import (
    BadStatus, BlockedURL, ConnectError, FetchError, FetchTimeout, RetryLater, RobotsDisallowed,
    RobotsUnavailable, TooLarge, TooManyRedirects, Truncated,
)
from .models import HTTPResult, Page
from .netpolicy import AddressPolicy, split_target

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
ACCEPT_ANY = "*/*"
ACCEPT_ENCODING = "gzip, deflate, br"
KEEPALIVE_EXPIRY = 5.0          # seconds an idle pooled connection is kept


@dataclass(frozen=True)
class Response(HTTPResult):
    """A fetched body before any HTML handling (what ``fetch_bytes`` returns)."""
    url: str
    final_url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: str
    elapsed: float = 0.0
    redirects: tuple[str, ...] = ()

    @property
    def etag(self) -> str | None:
        return self.header("etag")

    @property
    def last_modified(self) -> str | None:
        return self.header("last-modified")


@dataclass(frozen=True)
class _Redirect:
    location: str


@dataclass(frozen=True)
class _RetryStatus:
    status: int
    retry_after: float | None


@dataclass(frozen=True)
class _Options:
    html_only: bool
    check_robots: bool
    max_bytes: int


class _Budget:
    """The total deadline of one fetch attempt: network time (connect, headers
    and body of every redirect hop) spent so far against ``seconds``. Waits for
    the host's turn (politeness) are not counted; a retry renews it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0

    @property
    def left(self) -> float:
        return self.seconds - self.spent

    def renew(self) -> None:
        self.spent = 0.0


class _Host:
    """Per-host state for one run: connection slot, next allowed time, robots."""

    def __init__(self, connections: int, delay: float):
        self.slot = asyncio.Semaphore(max(1, connections))
        self.next_at = 0.0
        self.delay = delay
        self.robots_lock = asyncio.Lock()
        self.robots_loaded = False
        self.robots: Protego | None = None
        self.robots_error: str | None = None


def _utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def fetch_settings(settings: Settings | FetchSettings | None) -> FetchSettings:
    """The FetchSettings inside ``settings`` (defaults when None)."""
    if settings is None:
        return FetchSettings()
    return settings.fetch if isinstance(settings, Settings) else settings


_NET_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


def _socket_readable(sock) -> bool:
    """True if an idle connection has data or EOF waiting (i.e. is unusable)."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _LeanStream(httpcore.AsyncNetworkStream):
    """An anyio byte stream for httpcore without a cancel scope per read and
    write (httpcore's own backend opens one each time; the Fetcher's
    asyncio.timeout is the deadline anyway), which takes about a sixth off the
    CPU cost of a request. Errors map to httpcore's as its backend does."""

    def __init__(self, stream: anyio.abc.ByteStream):
        self._stream = stream
        self._sock = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self._stream.receive(max_bytes=max_bytes)
        except anyio.EndOfStream:
            return b""
        except _NET_ERRORS as exc:
            raise httpcore.ReadError(_describe(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            await self._stream.send(item=buffer)
        except _NET_ERRORS as exc:
            raise httpcore.WriteError(_describe(exc)) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        try:
            with anyio.fail_after(timeout):
                tls = await anyio.streams.tls.TLSStream.wrap(
                    self._stream, ssl_context=ssl_context, hostname=server_hostname,
                    standard_compatible=False, server_side=False)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(_describe(exc)) from exc
        except (*_NET_ERRORS, anyio.EndOfStream, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(_describe(exc)) from exc
        return _LeanStream(tls)

    def get_extra_info(self, info: str):
        if info == "is_readable":
            return _socket_readable(self._sock)
        if info == "ssl_object":
            return self._stream.extra(anyio.streams.tls.TLSAttribute.ssl_object, None)
        attr = {"client_addr": anyio.abc.SocketAttribute.local_address,
                "server_addr": anyio.abc.SocketAttribute.remote_address,
                "socket": anyio.abc.SocketAttribute.raw_socket}.get(info)
        return self._stream.extra(attr, None) if attr else None


class _LeanBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy has checked (pinned: no DNS
    rebinding between the check and the connection)."""

    def __init__(self, policy: AddressPolicy):
        self._policy = policy

    async def connect_tcp(self, host, port, timeout=None, local_address=None,
                          socket_options=None):
        addresses = await self._policy.connect_addresses(host, port)
        try:
            with anyio.fail_after(timeout):
                stream = await self._connect_first(addresses, port, local_address)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(_describe(exc)) from exc
        for option in socket_options or ():
            stream.extra(anyio.abc.SocketAttribute.raw_socket).setsockopt(*option)
        return _LeanStream(stream)

    @staticmethod
    async def _connect_first(addresses, port, local_address):
        for index, address in enumerate(addresses):
            try:
                return await anyio.connect_tcp(address, port, local_host=local_address)
            except (*_NET_ERRORS, anyio.EndOfStream) as exc:
                if index == len(addresses) - 1:
                    raise httpcore.ConnectError(_describe(exc)) from exc
        raise httpcore.ConnectError("no address to connect to")

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


# httpcore error -> httpx error, most specific first (as httpx's own transport maps them).
_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError), (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError), (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)
_HTTPCORE_ERRORS = tuple(core for core, _ in _HTTPCORE_TO_HTTPX)


def _httpx_error(exc: Exception) -> httpx.TransportError:
    """The httpx exception for an httpcore one (same message)."""
    mapped = next((to for core, to in _HTTPCORE_TO_HTTPX if isinstance(exc, core)),
                  httpx.TransportError)
    return mapped(_describe(exc))


class _BodyStream(httpx.AsyncByteStream):
    """An httpcore response body as an httpx stream, errors mapped to httpx's."""

    def __init__(self, stream):
        self._stream = stream

    async def __aiter__(self):
        try:
            async for part in self._stream:
                yield part
        except _HTTPCORE_ERRORS as exc:
            raise _httpx_error(exc) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class _HostTransport(httpx.AsyncBaseTransport):
    """One host's connections: an httpcore pool built with the lean backend and
    the verifying TLS context, behind httpx's transport interface (requests and
    responses converted with public APIs, as httpx's own transport does)."""

    def __init__(self, ssl_context: ssl.SSLContext, connections: int, backend: _LeanBackend):
        self._core = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=connections + 1,
            max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                             target=url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        try:
            core_response = await self._core.handle_async_request(core_request)
        except _HTTPCORE_ERRORS as exc:
            raise _httpx_error(exc) from exc
        return httpx.Response(status_code=core_response.status, headers=core_response.headers,
                              stream=_BodyStream(core_response.stream),
                              extensions=core_response.extensions)

    async def aclose(self) -> None:
        await self._core.aclose()


class _PerHostTransport(httpx.AsyncBaseTransport):
    """The run's transport (under its one AsyncClient): one small connection
    pool per host.

    httpcore scans every pooled connection on each request; with one shared
    pool over many hosts that scan dominated the CPU time. One pool per host
    keeps it to the host's own connection(s). All pools share one verifying
    TLS context (certificates are always checked)."""

    def __init__(self, per_host: int, policy: AddressPolicy, ca_bundle: str | None = None):
        self._backend = _LeanBackend(policy)
        self._ssl = httpx.create_ssl_context()  # certifi CAs, verification on
        if ca_bundle:
            self._ssl.load_verify_locations(cafile=ca_bundle)
        self._connections = max(1, per_host)
        self._pools: dict[tuple[bytes, bytes, int | None], _HostTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = _HostTransport(self._ssl, self._connections, self._backend)
            self._pools[key] = pool
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class Fetcher:
    """Polite, bounded HTTP for one run. Use as ``async with Fetcher(s) as f``."""

    def __init__(self, settings: Settings | FetchSettings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.settings = fetch_settings(settings)
        self._transport = transport
        self._client: _Client | None = None
        self._policy = AddressPolicy(self.settings.allow_private_networks,
                                     self.settings.allowed_networks)
        self._hosts: dict[tuple[str, str, int], _Host] = {}
        self._global: asyncio.Semaphore | None = None

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        transport = self._transport or _PerHostTransport(s.per_host_connections, self._policy,
                                                         s.ca_bundle)
        self._client = _Client(
            transport=transport, follow_redirects=False, trust_env=False,
            headers={"User-Agent": s.user_agent, "Accept": ACCEPT_HTML,
                     "Accept-Encoding": ACCEPT_ENCODING},
            # Per-operation timeouts as a backstop; the total deadline is asyncio.timeout.
            timeout=httpx.Timeout(s.timeout + 1.0),
            event_hooks={"response": [_check_location]})
        self._global = asyncio.Semaphore(max(1, s.concurrency))
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ------------------------------------------------------------------ public

    async def fetch(self, url: str, etag: str | None = None,
                    last_modified: str | None = None) -> Page:
        """Fetch one HTML page. Raises a FetchError subclass on any failure."""
        return to_page(await self.fetch_raw(url, etag, last_modified), etag, last_modified)

    async def fetch_raw(self, url: str, etag: str | None = None,
                        last_modified: str | None = None) -> Response:
        """Fetch one HTML page (content type checked) with its body left
        undecoded, for ``to_page`` to check and decode later, e.g. in the
        cleaning process: bytes cross a process boundary far cheaper than text."""
        opts = _Options(True, self.settings.obey_robots, self.settings.max_bytes)
        return await self._fetch(url, opts, etag, last_modified, ACCEPT_HTML)

    async def fetch_bytes(self, url: str, etag: str | None = None,
                          last_modified: str | None = None) -> Response:
        """Fetch any content (feeds, sitemaps) with the same limits and policy."""
        opts = _Options(False, self.settings.obey_robots, self.settings.max_bytes)
        return await self._fetch(url, opts, etag, last_modified, ACCEPT_ANY)

    # ------------------------------------------------------------------ redirects

    async def _fetch(self, url: str, opts: _Options, etag: str | None,
                     last_modified: str | None, accept: str) -> Response:
        if self._client is None:
            raise RuntimeError("use 'async with Fetcher(...)' before fetching")
        # The client's own headers already accept HTML: most requests add none.
        headers = {} if accept == ACCEPT_HTML else {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        resp = await self._follow(url, headers, opts)
        return replace(resp, url=url, elapsed=round(time.monotonic() - started, 3))

    async def _follow(self, url: str, headers: dict, opts: _Options) -> Response:
        current, hops = url, []
        budget = _Budget(self.settings.timeout)  # one deadline for the whole chain
        while True:
            outcome = await self._request(current, headers, opts, budget)
            if isinstance(outcome, Response):
                return replace(outcome, redirects=tuple(hops))
            nxt = urljoin(current, outcome.location.strip())
            if nxt == url or nxt in hops:
                raise TooManyRedirects(f"redirect loop back to {nxt}", url)
            hops.append(nxt)
            if len(hops) > self.settings.max_redirects:
                raise TooManyRedirects(f"more than {self.settings.max_redirects} redirects", url)
            current = nxt

    # ------------------------------------------------------------------ retries

    async def _request(self, url: str, headers: dict, opts: _Options, budget: _Budget):
        """One hop, retried; a retry after its wait starts a fresh deadline."""
        retries = max(0, self.settings.retries)
        for attempt in range(retries + 1):
            try:
                outcome = await self._attempt(url, headers, opts, budget)
            except ConnectError:
                if attempt == retries:
                    raise
                wait = self._backoff(attempt)
            else:
                if not isinstance(outcome, _RetryStatus):
                    return outcome
                wait = self._retry_wait(outcome, attempt, url)
                if attempt == retries:
                    raise BadStatus(f"HTTP {outcome.status} after {retries} retries", url,
                                    outcome.status)
            await asyncio.sleep(wait)
            budget.renew()
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        base = self.settings.backoff * (2 ** attempt)
        return base * (1 + random.random() * 0.5)

    def _retry_wait(self, outcome: _RetryStatus, attempt: int, url: str) -> float:
        cap = self.settings.retry_after_cap
        if outcome.retry_after is None:
            return self._backoff(attempt)
        if outcome.retry_after > cap:
            raise RetryLater(f"HTTP {outcome.status}: server asks to wait "
                             f"{outcome.retry_after:.0f} s (cap {cap:.0f} s); try later", url)
        return outcome.retry_after

    # ------------------------------------------------------------------ one request

    async def _attempt(self, url: str, headers: dict, opts: _Options, budget: _Budget):
        target = split_target(url)
        await self._policy.check(url, target)
        host = self._host(target)
        if opts.check_robots:
            await self._check_robots(url, host)
        async with self._host_slot(host):
            async with self._global:
                outcome = await self._exchange(url, headers, opts, budget)
        if isinstance(outcome, _RetryStatus) and outcome.retry_after:
            self._pause_host(host, outcome.retry_after)
        return outcome

    def _pause_host(self, host: _Host, seconds: float) -> None:
        """Retry-After speaks for the whole host: no request to it before then."""
        until = asyncio.get_running_loop().time() + min(seconds, self.settings.retry_after_cap)
        host.next_at = max(host.next_at, until)

    def _host(self, key: tuple[str, str, int]) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            host = _Host(self.settings.per_host_connections, self.settings.delay)
            self._hosts[key] = host
        return host

    @asynccontextmanager
    async def _host_slot(self, host: _Host):
        async with host.slot:
            loop = asyncio.get_running_loop()
            wait = host.next_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                pause = host.delay + random.uniform(0, self.settings.jitter) if host.delay else 0.0
                host.next_at = loop.time() + pause

    async def _exchange(self, url: str, headers: dict, opts: _Options, budget: _Budget):
        """One request and response (connect, headers, body) within what is left
        of the attempt's deadline."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            if budget.left <= 0:
                raise TimeoutError
            async with asyncio.timeout(budget.left):
                return await self._send(url, headers, opts)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise FetchTimeout(f"timed out after {budget.seconds} s", url) from exc
        except httpx.InvalidURL as exc:
            raise BlockedURL(f"invalid URL ({_describe(exc)})", url) from exc
        except httpx.TransportError as exc:
            raise ConnectError(f"connection failed: {_describe(exc)}", url) from exc
        finally:
            budget.spent += loop.time() - started

    async def _send(self, url: str, headers: dict, opts: _Options):
        request = self._client.build_request("GET", url, headers=headers or None)
        response = await self._client.send(request, stream=True)
        try:
            return await self._handle(url, response, opts)
        finally:
            await response.aclose()

    async def _handle(self, url: str, response: httpx.Response, opts: _Options):
        status = response.status_code
        if status in REDIRECT_STATUSES and response.headers.get("location"):
            return _Redirect(response.headers["location"])
        if status in RETRY_STATUSES:
            return _RetryStatus(status, parse_retry_after(response.headers.get("retry-after")))
        if status == 304:
            return self._response(url, response, b"")
        if not 200 <= status < 300:
            raise BadStatus(f"HTTP {status} {response.reason_phrase}".rstrip(), url, status)
        if opts.html_only:
            bodies.check_html_type(response.headers.get("content-type"), url)
        body = await self._read_body(url, response, opts.max_bytes)
        return self._response(url, response, body)

    async def _read_body(self, url: str, response: httpx.Response, max_bytes: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(f"Content-Length {declared} over the {max_bytes}-byte cap", url)
        decoder = bodies.BodyDecoder(response.headers.get("content-encoding"), max_bytes, url)
        try:
            async for chunk in response.aiter_raw():
                decoder.feed(chunk)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise Truncated(f"body cut after {decoder.raw_bytes} bytes ({_describe(exc)})",
                            url) from exc
        return decoder.finish()

    @staticmethod
    def _response(url: str, response: httpx.Response, body: bytes) -> Response:
        return Response(url=url, final_url=url, status=response.status_code,
                        headers=tuple(response.headers.items()), body=body,
                        fetched_at=_utcnow())

    # ------------------------------------------------------------------ robots.txt

    async def _check_robots(self, url: str, host: _Host) -> None:
        async with host.robots_lock:
            if not host.robots_loaded:
                await self._load_robots(url, host)
        if host.robots_error:
            raise RobotsUnavailable(host.robots_error, url)
        if host.robots is not None and not host.robots.can_fetch(url, self.settings.user_agent):
            raise RobotsDisallowed("disallowed by robots.txt", url)

    async def _load_robots(self, url: str, host: _Host) -> None:
        robots_url = urljoin(url, "/robots.txt")
        opts = _Options(False, False, self.settings.robots_max_bytes)
        try:
            resp = await self._follow(robots_url, {"Accept": "text/plain,*/*"}, opts)
            host.robots = Protego.parse(resp.body.decode("utf-8", errors="replace"))
        except (BadStatus, RetryLater, FetchTimeout, ConnectError, Truncated) as exc:
            status = getattr(exc, "status", None)
            if status is None or status >= 500 or status in RETRY_STATUSES:
                host.robots_error = f"robots.txt unavailable ({exc}); try this host later"
        except FetchError:
            host.robots = None  # too large, redirected away, blocked: treated as absent
        host.robots_loaded = True
        self._apply_crawl_delay(host)

    def _apply_crawl_delay(self, host: _Host) -> None:
        if host.robots is None:
            return
        try:
            delay = host.robots.crawl_delay(self.settings.user_agent)
        except (TypeError, ValueError):
            delay = None
        if delay:
            host.delay = max(host.delay, min(float(delay), self.settings.max_crawl_delay))


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


class _NoCookies(httpx.Cookies):
    """Cookies that are never taken from a response, so none is ever sent (a
    scraper keeps no sessions). Skipping the extraction also saves building
    urllib request/response stand-ins for every response."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class _Client(httpx.AsyncClient):
    """The run's one client, without a cookie jar: its ``cookies`` are always
    an empty _NoCookies (setting them is ignored)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, value) -> None:
        return None


_NO_COOKIES = _NoCookies()


async def _check_location(response: httpx.Response) -> None:
    """Response hook: a redirect whose Location httpx cannot parse is refused
    here as BlockedURL (the client would otherwise raise a protocol error while
    preparing a next request the Fetcher never uses: it follows redirects itself)."""
    location = response.headers.get("location")
    if location is None or response.status_code not in REDIRECT_STATUSES:
        return
    try:
        httpx.URL(location)
    except httpx.InvalidURL as exc:
        raise BlockedURL(f"invalid redirect Location ({_describe(exc)})",
                         str(response.request.url)) from exc


def to_page(resp: Response, etag: str | None = None, last_modified: str | None = None) -> Page:
    """A Page from a Response: HTML checked (not binary) and decoded. A 304
    (nothing to decode) keeps the validators sent (``etag``, ``last_modified``)
    where the answer repeats none."""
    base = dict(url=resp.url, final_url=resp.final_url, status=resp.status, headers=resp.headers,
                fetched_at=resp.fetched_at, etag=resp.etag, last_modified=resp.last_modified,
                bytes=len(resp.body), elapsed=resp.elapsed, redirects=resp.redirects)
    if resp.not_modified:
        return Page(html="", **{**base, "etag": resp.etag or etag,
                                "last_modified": resp.last_modified or last_modified})
    content_type = resp.header("content-type")
    bodies.check_not_binary(resp.body, content_type, resp.final_url)
    html, encoding = bodies.decode_html(resp.body, content_type)
    return Page(html=html, encoding=encoding, **base)


# ---------------------------------------------------------------------- sync helpers

async def _fetch_many(urls: Iterable[str], settings) -> list[Page | FetchError]:
    async with Fetcher(settings) as fetcher:
        async def one(url: str):
            try:
                return await fetcher.fetch(url)
            except FetchError as exc:
                return exc
        return list(await asyncio.gather(*(one(u) for u in urls)))


def fetch(url: str, settings: Settings | FetchSettings | None = None) -> Page:
    """Fetch one HTML page synchronously (its own event loop and client)."""
    result = fetch_all([url], settings)[0]
    if isinstance(result, FetchError):
        raise result
    return result


def fetch_all(urls: Iterable[str], settings: Settings | FetchSettings | None = None
              ) -> list[Page | FetchError]:
    """Fetch many pages synchronously, politely; one Page or FetchError per URL, in order."""
    return asyncio.run(_fetch_many(list(urls), settings))
