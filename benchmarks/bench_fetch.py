"""Fetch-only throughput of the real Fetcher against a local multi-host server.

    PYTHONPATH=. python benchmarks/bench_fetch.py [--hosts 20] [--pages 2000] [--size 20000]

A server subprocess listens on N ports of 127.0.0.1 (N "hosts", keep-alive
HTTP/1.1, ~20 KB HTML pages, robots.txt answered 404). This process fetches
every page through ``scraper.fetch.Fetcher`` with politeness delay 0 (robots
still obeyed, one connection per host, default concurrency) and prints
pages/s, CPU seconds and peak RSS of the fetching process, then one summary
line. Targets (issue 4): >= 500 pages/s, peak RSS < 150 MB.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace

TARGET_PAGES_PER_S = 500
TARGET_RSS_MB = 150


# ---------------------------------------------------------------------- server (subprocess)

def _page(i: int, size: int) -> bytes:
    para = (f"<p>Paragraph of article {i}: the quick brown fox jumps over the lazy dog, "
            f"and the café owner says «bonjour» to everyone passing by.</p>\n")
    body = para * max(1, size // len(para.encode()))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Article {i}</title>"
            f"</head><body><article>{body}</article></body></html>").encode()


async def _serve_conn(reader, writer, size: int) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            if path.startswith("/p/"):
                body, status = _page(int(path[3:]), size), "200 OK"
            else:
                body, status = b"not found", "404 Not Found"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(hosts: int, size: int) -> None:
    servers = [await asyncio.start_server(lambda r, w: _serve_conn(r, w, size), "127.0.0.1", 0)
               for _ in range(hosts)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until parent closes


# ---------------------------------------------------------------------- client (this process)

async def _fetch_all(urls: list[str]) -> tuple[int, int, int]:
    from scraper.config import FetchSettings
    from scraper.errors import FetchError
    from scraper.fetch import Fetcher

    settings = replace(FetchSettings(), delay=0.0, jitter=0.0, allow_private_networks=True)
    ok = failed = nbytes = 0
    async with Fetcher(settings) as fetcher:
        async def one(url: str):
            nonlocal ok, failed, nbytes
            try:
                page = await fetcher.fetch(url)
                ok, nbytes = ok + 1, nbytes + page.bytes
            except FetchError as exc:
                failed += 1
                if failed <= 3:
                    print(f"error: {url}: {exc}", file=sys.stderr)
        await asyncio.gather(*(one(u) for u in urls))
    return ok, failed, nbytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.hosts, args.size))
        return
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--hosts", str(args.hosts),
                               "--size", str(args.size)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        ports = json.loads(server.stdout.readline())
        urls = [f"http://127.0.0.1:{ports[i % len(ports)]}/p/{i}" for i in range(args.pages)]
        run(urls, args)
    finally:
        server.stdin.close()
        server.terminate()
        server.wait(timeout=10)


def run(urls: list[str], args) -> None:
    import scraper.fetch  # noqa: F401  (imports are a one-off, not part of fetching)

    cpu0 = _cpu()
    start = time.perf_counter()
    ok, failed, nbytes = asyncio.run(_fetch_all(urls))
    wall = time.perf_counter() - start
    cpu = _cpu() - cpu0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = ok / wall if wall else 0.0
    print(f"hosts: {args.hosts}  pages: {len(urls)}  ok: {ok}  failed: {failed}  "
          f"bytes: {nbytes / 1e6:.1f} MB")
    print(f"wall: {wall:.2f} s  pages/s: {rate:.0f}  CPU: {cpu:.2f} s "
          f"({cpu / max(ok, 1) * 1000:.2f} ms/page)  peak RSS: {rss_mb:.0f} MB")
    # On a shared machine wall time depends on the load; CPU per page does not much.
    print(f"pages per CPU-second of the fetching process: {ok / max(cpu, 1e-9):.0f} "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    verdict = "PASS" if rate >= TARGET_PAGES_PER_S and rss_mb < TARGET_RSS_MB and not failed \
        else "FAIL"
    print(f"SUMMARY bench_fetch: {rate:.0f} pages/s (target >= {TARGET_PAGES_PER_S}), "
          f"CPU {cpu:.2f} s, peak RSS {rss_mb:.0f} MB (target < {TARGET_RSS_MB}), "
          f"{failed} failed: {verdict}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
