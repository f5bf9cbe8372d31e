"""Address policy: which URLs the fetcher may connect to.

Only http(s) URLs are fetched. Unless private networks are allowed, a host is
resolved first (with the event loop's getaddrinfo) and refused if ANY of its
addresses is private, loopback, link-local, multicast, unspecified or
reserved; IP literals are checked the same way. Networks listed in
``allowed_networks`` are let through even then (e.g. one intranet host).
This runs before every request, redirect hops included, so a feed, sitemap or
redirect cannot point the tool at 127.0.0.1, 10.x or 169.254.169.254.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from .errors import BlockedURL, ConnectError

ALLOWED_SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def split_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; BlockedURL for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"invalid URL ({exc})", url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedURL(f"scheme {scheme or '(none)'!r} not allowed (http/https only)", url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise BlockedURL("URL has no host", url)
    return scheme, host, port or (443 if scheme == "https" else 80)


def blocked_reason(ip: IPAddress) -> str | None:
    """Why an address is not public ('loopback', 'private'...), or None if it is."""
    mapped = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if mapped is not None:
        return blocked_reason(mapped)
    for attr in ("is_loopback", "is_link_local", "is_multicast", "is_unspecified",
                 "is_private", "is_reserved"):
        if getattr(ip, attr):
            return attr[3:].replace("_", "-")
    return None if ip.is_global else "non-public"


def parse_networks(specs: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """'127.0.0.1', '10.0.0.0/8'... as network objects."""
    return tuple(ipaddress.ip_network(s, strict=False) for s in specs)


def check_ip(ip: IPAddress, host: str, url: str, allowed=()) -> None:
    """BlockedURL if ``ip`` is not public and not in an allowed network."""
    reason = blocked_reason(ip)
    if reason and not any(ip in net for net in allowed):
        where = f"{host} is a" if host.strip("[]") == str(ip) else f"{host} resolves to a"
        raise BlockedURL(f"{where} {reason} address ({ip}); private networks not allowed", url)


async def resolve(host: str, port: int, url: str) -> tuple[IPAddress, ...]:
    """All addresses of ``host`` (an IP literal resolves to itself)."""
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise ConnectError(f"cannot resolve {host}: {exc}", url) from exc
    return tuple(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos)


class AddressPolicy:
    """Checks URLs before connecting; remembers each host's verdict for the run."""

    def __init__(self, allow_private: bool = False, allowed_networks: Iterable[str] = ()):
        self.allow_private = allow_private
        self.allowed = parse_networks(allowed_networks)
        self._verdicts: dict[tuple[str, int], tuple[IPAddress, ...] | BlockedURL] = {}

    async def check(self, url: str, target: tuple[str, str, int] | None = None) -> None:
        """Raise BlockedURL (bad scheme or address) or ConnectError (DNS) for
        ``url``; ``target`` is its split_target() if the caller has it."""
        _, host, port = target or split_target(url)
        if self.allow_private:
            return
        key = (host, port)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = await self._judge(host, port, url)
            self._verdicts[key] = verdict
        if isinstance(verdict, BlockedURL):
            raise BlockedURL(str(verdict), url)

    async def connect_addresses(self, host: str, port: int) -> tuple[str, ...]:
        """What to connect to for ``host``: the very addresses that were checked
        (so DNS cannot change its answer between the check and the connection),
        or the host name itself when private networks are allowed."""
        if self.allow_private:
            return (host,)
        await self.check(f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/")
        return tuple(str(ip) for ip in self._verdicts[(host.lower().rstrip("."), port)])

    async def _judge(self, host: str, port: int, url: str):
        addresses = await resolve(host, port, url)
        try:
            for ip in addresses:
                check_ip(ip, host, url, self.allowed)
        except BlockedURL as exc:
            return exc
        return addresses
