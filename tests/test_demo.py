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
    """The server works a page's body and ETag out once; a page whose html
    is replaced is served with its new text and a new ETag."""
    from datetime import datetime, timezone

    import httpx

    from scraper.demo import DemoPage, DemoServer, DemoSite, ORIGIN

    site = DemoSite("s")
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    site.add(DemoPage("/a/", b"<html><a href='" + ORIGIN + b"/b/'>old</a></html>", when))
    with DemoServer([site]) as server:
        url = server.origin("s") + "/a/"
        first, again = httpx.get(url), httpx.get(url)
        assert first.content == again.content
        assert server.origin("s").encode() in first.content and b"old" in first.content
        site.pages["/a/"].html = b"<html>new</html>"
        changed = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.content == b"<html>new</html>"
    assert changed.headers["etag"] != first.headers["etag"]
