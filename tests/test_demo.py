"""`scraper demo`: the main job on the bundled pages, into a temporary file."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from runhelp import PAGES
from scraper.cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_demo_runs_and_a_second_run_finds_nothing_new(tmp_path):
    db = tmp_path / "demo.db"
    args = ["demo", "--db", str(db), "--pages", str(FIXTURES), "--workers", "2"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert f"run: new {PAGES}, updated 0, unchanged 0, failed 0" in res.output
    sources = [line.split("original_source: ")[1].split("]")[0] for line in res.output.splitlines()
               if "original_source: " in line]
    assert sources and any(s not in ("", "None", "-") for s in sources), res.output
    search = res.output.split("scraper search")[1].splitlines()
    assert len(search) >= 3 and search[1].startswith("  ") and ": " in search[1]
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "run: new 0, updated 0, unchanged 0, failed 0" in again.output


def test_demo_without_pages_folder_says_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["demo", "--db", str(tmp_path / "d.db")])
    assert res.exit_code == 2
    assert "--pages" in res.output and len(res.output.strip().splitlines()) == 1


def test_demo_server_serves_a_replaced_page_anew(tmp_path):
    """The server works a page's body and ETag out once (prepare: before
    any request, with the local origin in it); a page whose html is replaced
    is served with its new text and a new ETag."""
    from datetime import datetime, timezone

    import httpx

    from scraper.demo import DemoPage, DemoServer, DemoSite, ORIGIN

    site = DemoSite("s")
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    site.add(DemoPage("/a/", b"<html><a href='" + ORIGIN + b"/b/'>old</a></html>", when))
    with DemoServer([site]) as server:
        server.prepare()
        assert ("s", "/a/") in server._served   # ready before the first request
        url = server.origin("s") + "/a/"
        first, again = httpx.get(url), httpx.get(url)
        assert first.content == again.content
        assert server.origin("s").encode() in first.content and b"old" in first.content
        site.pages["/a/"].html = b"<html>new</html>"
        changed = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.content == b"<html>new</html>"
    assert changed.headers["etag"] != first.headers["etag"]


def _raw(port: int, data: bytes) -> bytes:
    """Send raw bytes to the demo server; everything it answers until it closes."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _site():
    from datetime import datetime, timezone

    from scraper.demo import DemoPage, DemoSite

    site = DemoSite("s")
    site.add(DemoPage("/a/", b"<html>page a</html>", datetime(2024, 1, 1, tzinfo=timezone.utc)))
    return site


def test_demo_server_speaks_http11_keep_alive_head_and_refuses_the_rest():
    from scraper.demo import DemoServer

    with DemoServer([_site()]) as server:
        port = server.ports["s"]
        # two requests on one connection (pipelined), the second asking to close
        both = _raw(port, b"GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert both.count(b"HTTP/1.1 200 OK") == 2 and b"page a" in both
        assert b"Disallow: /private/" in both
        head = _raw(port, b"HEAD /a/ HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 19" in head
        assert head.endswith(b"\r\n\r\n")   # no body
        post = _raw(port, b"POST /a/ HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
        assert post.startswith(b"HTTP/1.1 501")
        assert _raw(port, b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert _raw(port, b"GET /nope HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 404")  # 1.0: closed
        hits = server.take_hits()
    assert [(h.path, h.status) for h in hits] == [
        ("/a/", 200), ("/robots.txt", 200), ("/a/", 200), ("/nope", 404)]


def test_demo_server_a_hanging_site_does_not_hold_up_another():
    import time

    import httpx

    from scraper.demo import DemoServer, DemoSite

    slow = DemoSite("slow", fail="hang", hang=3.0)
    with DemoServer([slow, _site()]) as server:
        with httpx.Client(timeout=5) as client:
            import threading
            waiting = threading.Thread(target=lambda: client.get(server.origin("slow") + "/x"))
            waiting.start()
            time.sleep(0.2)
            started = time.monotonic()
            fast = client.get(server.origin("s") + "/a/")
            took = time.monotonic() - started
            waiting.join()
    assert fast.status_code == 200 and took < 1.0
