"""A real HTTP server on 127.0.0.1 (free port, one thread per connection) that
misbehaves on purpose. Raw sockets, so it can drip bytes, hang, reset, lie
about Content-Length or send compression bombs.

Routes are ``path -> handler(conn, req)``; handlers write raw bytes with the
helpers below. Every request is logged (path, monotonic time, headers).
"""
from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


def response_bytes(status: int, headers: dict | list | None = None, body: bytes = b"",
                   reason: str = "X", content_length: int | None = None) -> bytes:
    """Raw HTTP/1.1 response with Connection: close."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in items}
    if "content-length" not in names:
        items.append(("Content-Length", str(len(body) if content_length is None else content_length)))
    items.append(("Connection", "close"))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in items) + "\r\n"
    return head.encode("latin-1") + body


def send(conn: socket.socket, status: int, headers=None, body: bytes = b"", **kw) -> None:
    conn.sendall(response_bytes(status, headers, body, **kw))


def html(body: str | bytes, content_type: str = "text/html; charset=utf-8", **headers):
    """A handler serving one HTML body."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    def handler(conn, req):
        send(conn, 200, {"Content-Type": content_type, **headers}, data)
    return handler


def reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class BadServer:
    """``with BadServer() as srv: srv.route('/x', handler); srv.url('/x')``."""

    def __init__(self):
        self.routes: dict[str, object] = {}
        self.log: list[Request] = []
        self.hits: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler) -> None:
        self.routes[path] = handler

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.log if r.path == path]

    def __enter__(self) -> BadServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._sock.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            req = self._read_request(conn)
            if req is None:
                return
            self.log.append(req)
            self.hits[req.path] += 1
            handler = self.routes.get(req.path)
            if handler is None:
                send(conn, 404, {"Content-Type": "text/plain"}, b"not found")
            else:
                handler(conn, req)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _read_request(conn: socket.socket) -> Request | None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        conn.settimeout(None)
        return Request(method, path, headers)


# ---------------------------------------------------------------------- client-side helpers

def fast_settings(**changes):
    """Small numbers so every failure mode is reached in well under a few seconds."""
    from scraper.config import FetchSettings

    base = FetchSettings(timeout=2.0, delay=0.0, jitter=0.0, backoff=0.05, retries=2,
                         max_bytes=1024 * 1024, allow_private_networks=True, obey_robots=False,
                         retry_after_cap=5.0)
    return replace(base, **changes)


def fetch_sync(url: str, settings=None, **kwargs):
    """Fetch one page with a fresh Fetcher; returns the Page or the FetchError."""
    from scraper.errors import FetchError
    from scraper.fetch import Fetcher

    async def go():
        async with Fetcher(settings or fast_settings()) as f:
            try:
                return await f.fetch(url, **kwargs)
            except FetchError as exc:
                return exc
    return asyncio.run(go())
