"""`scraper fetch` against the local misbehaving server (real command, real HTTP)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from click.testing import CliRunner

from badserver import html
from scraper.cli import cli

ARTICLE = ("<html><head><title>Rain in the valley</title></head><body><article><h1>Rain in the "
           "valley</h1>" + "".join(f"<p>Paragraph {i}: the farmers of the valley waited for the "
                                   f"rain for many weeks, and it finally came on a Tuesday "
                                   f"morning, soaking the dry fields.</p>" for i in range(6))
           + "</article></body></html>")


def invoke(*args):
    return CliRunner(mix_stderr=False).invoke(cli, ["fetch", *args]) if _has_mix() else \
        CliRunner().invoke(cli, ["fetch", *args])


def _has_mix() -> bool:
    import inspect
    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def test_fetch_success_record_on_stdout(server):
    server.route("/art", html(ARTICLE))
    res = invoke(server.url("/art"), "--no-store", "--allow-private", "--delay", "0")
    assert res.exit_code == 0, res.stderr
    record = json.loads(res.stdout.strip().splitlines()[-1])
    assert record["url"] == server.url("/art")
    assert record["final_url"] == server.url("/art") and record["fetched_at"]
    assert "farmers of the valley" in record["text"]
    assert res.stderr == ""


def test_fetch_mixed_results_exit_1(server):
    server.route("/art", html(ARTICLE))
    server.route("/png", html(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "text/html"))

    def hang(conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 99\r\n\r\n")
        server.stopping.wait(5)
    server.route("/hang", hang)
    start = time.monotonic()
    res = invoke(server.url("/art"), server.url("/png"), server.url("/hang"), "--no-store",
                 "--allow-private", "--timeout", "1", "--delay", "0")
    assert time.monotonic() - start < 4
    assert res.exit_code == 1
    assert len(res.stdout.strip().splitlines()) == 1
    errors = res.stderr.strip().splitlines()
    assert f"error: {server.url('/png')}: binary content (PNG image)" in errors[0]
    assert errors[1] == f"error: {server.url('/hang')}: timed out after 1.0 s"
    assert "Traceback" not in res.stderr


def test_fetch_private_refused_without_flag(server):
    server.route("/art", html(ARTICLE))
    res = invoke(server.url("/art"), "--no-store")
    assert res.exit_code == 1 and "loopback address" in res.stderr
    assert server.hits["/art"] == 0


def test_fetch_stores_records_and_failures(server, tmp_path):
    import sqlite3
    server.route("/art", html(ARTICLE))
    db = tmp_path / "f.db"
    res = invoke(server.url("/art"), server.url("/missing"), "--db", str(db), "--allow-private",
                 "--format", "text", "--delay", "0")
    assert res.exit_code == 1
    assert "storage is not available yet" not in res.stderr
    assert res.stdout.startswith("# ") and "farmers" in res.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT url FROM articles").fetchall() == [(server.url("/art"),)]
    outcomes = dict(conn.execute("SELECT url, outcome FROM fetches"))
    assert outcomes == {server.url("/art"): "new", server.url("/missing"): "error"}
    res = invoke(server.url("/art"), "--db", str(db), "--allow-private", "--delay", "0")
    assert res.exit_code == 0
    assert conn.execute("SELECT outcome FROM fetches ORDER BY id DESC").fetchone() == ("unchanged",)


def test_fetch_subprocess_no_traceback(server):
    server.route("/reset", lambda c, r: (c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n"
                                                   b"Content-Type: text/html\r\n\r\n<p>x"),
                                         __import__("badserver").reset(c)))
    proc = subprocess.run([sys.executable, "-m", "scraper", "fetch", server.url("/reset"),
                           "--no-store", "--allow-private", "--timeout", "2"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(f"error: {server.url('/reset')}: body cut")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_httpx_imported_lazily():
    code = ("import sys, scraper, scraper.cli, scraper.pipeline, scraper.discover; "
            "from click.testing import CliRunner; CliRunner().invoke(scraper.cli.cli, ['--help']); "
            "print('httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr
