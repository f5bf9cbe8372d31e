"""`scraper run` end to end against real local sites (the demo server):
first run, incremental second run, a feed gaining an item, failing sources."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from runhelp import FIXTURES, PAGES, rows, start_sites, truths, write_config
from scraper.cli import cli
from scraper.config import load_config
from scraper.demo import DemoPage, page_from_html
from scraper.run import run
import scraper.run as runmod

PAGE_PATHS = {"/robots.txt", "/feed.xml", "/sitemap.xml"}


@pytest.fixture
def sites():
    server = start_sites()
    yield server
    server.__exit__()


def _run(cfg, **kw):
    settings, sources = load_config(cfg)
    return run(settings, sources, **kw)


def test_first_run_stores_every_article_second_run_only_conditional(sites, tmp_path):
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    first = _run(cfg)
    assert (first.new, first.failed) == (PAGES, 0)
    expected = truths()
    stored = rows(db, "SELECT url, title, original_source, site FROM articles")
    assert len(stored) == PAGES
    for url, title, original, site in stored:
        truth = expected[urlsplit(url).path]
        assert title == truth["title"]
        accepted = {truth["original_source"], *truth.get("original_source_aliases", [])}
        assert original in accepted, (url, original)
    fetched = {h.path for h in sites.take_hits()}
    assert len(fetched - PAGE_PATHS - {"/"}) == PAGES

    started = time.monotonic()
    second = _run(cfg)
    assert time.monotonic() - started < 5
    assert (second.new, second.updated, second.failed) == (0, 0, 0)
    hits = sites.take_hits()
    assert hits and {h.path for h in hits} <= PAGE_PATHS   # no article, no homepage
    reads = [h for h in hits if h.path != "/robots.txt"]
    assert len(reads) == len(sites.sites)
    assert all(h.conditional and h.status == 304 for h in reads)
    state = rows(db, "SELECT last_ok, last_error FROM sources")
    assert len(state) == len(sites.sites) and all(ok and err is None for ok, err in state)


def test_feed_that_gains_an_item_yields_exactly_that_item(sites, tmp_path):
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    assert _run(cfg).new == PAGES
    sites.take_hits()
    feed_site = next(s for s in sites.sites.values() if s.kind == "feed")
    html = (FIXTURES / "en_ips_sahel_wells.html").read_bytes()
    _, page = page_from_html(html, "/x", __import__("datetime").datetime.now().astimezone())
    feed_site.add(DemoPage("/2030/01/a-new-story/", page.html, page.published, "A new story"))
    summary = _run(cfg)
    assert (summary.new, summary.updated, summary.failed) == (1, 0, 0)
    articles = {h.path for h in sites.take_hits()} - PAGE_PATHS
    assert articles == {"/2030/01/a-new-story/"}
    assert rows(db, "SELECT count(*) FROM articles WHERE url LIKE ?",
                "%/2030/01/a-new-story/")[0][0] == 1


def test_failing_sources_are_reported_and_the_others_complete(sites, tmp_path):
    names = [s.name for s in sites.sites.values() if s.kind == "feed"][:2]
    sites.sites[names[0]].fail = "500"
    sites.sites[names[1]].fail, sites.sites[names[1]].hang = "hang", 3.0
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db, timeout=1.0)
    started = time.monotonic()
    res = CliRunner().invoke(cli, ["run", "--config", str(cfg)])
    assert time.monotonic() - started < 15
    assert res.exit_code == 1, res.output
    assert res.output.startswith("new ") and "failed 2" in res.output
    broken = sum(len(sites.sites[n].pages) for n in names)
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == PAGES - broken
    errors = dict(rows(db, "SELECT url, error FROM fetches WHERE outcome = 'error'"))
    assert {urlsplit(u).port for u in errors} == {sites.ports[n] for n in names}
    assert any("500" in e for e in errors.values()) and any("timed out" in e for e in errors.values())
    failed = dict(rows(db, "SELECT name, last_error FROM sources WHERE last_error IS NOT NULL"))
    assert set(failed) == set(names)


def test_a_page_that_fails_is_retried_next_run(sites, tmp_path):
    site = next(s for s in sites.sites.values() if s.kind == "feed" and len(s.pages) == 1)
    path, page = next(iter(site.pages.items()))
    site.pages[path] = DemoPage(path, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, page.published)
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    first = _run(cfg)
    assert (first.new, first.failed) == (PAGES - 1, 1)
    # refused by the cleaning process, which checks and decodes the body
    [(status, error)] = rows(db, "SELECT status, error FROM fetches WHERE outcome = 'error'")
    assert status == 200 and error.startswith("NotHTML: ") and "PNG" in error
    site.pages[path] = page  # the site fixed its page
    second = _run(cfg)
    assert (second.new, second.failed) == (1, 0)


def test_json_log_format_and_quiet(sites, tmp_path):
    import json
    cfg = write_config(tmp_path / "c.toml", sites, tmp_path / "s.db")
    res = CliRunner().invoke(cli, ["run", "--config", str(cfg), "--log-format", "json",
                                   "--source", next(iter(sites.sites))])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.output.splitlines()]
    assert events[-1]["event"] == "summary" and events[-1]["new"] >= 1
    res = CliRunner().invoke(cli, ["run", "--config", str(cfg), "--quiet"])
    assert res.exit_code == 0 and res.output == ""


def test_dry_run_lists_and_stores_nothing(sites, tmp_path):
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    res = CliRunner().invoke(cli, ["run", "--config", str(cfg), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert len([l for l in res.output.splitlines() if "\thttp://127.0.0.1:" in l]) == PAGES
    assert not db.exists()


def test_max_items_leaves_the_rest_for_the_next_run(sites, tmp_path):
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    first = _run(cfg, max_items=1)
    assert first.new == len(sites.sites)
    second = _run(cfg)
    assert (first.new + second.new, second.failed) == (PAGES, 0)


def test_unknown_source_is_a_usage_error(sites, tmp_path):
    cfg = write_config(tmp_path / "c.toml", sites, tmp_path / "s.db")
    res = CliRunner().invoke(cli, ["run", "--config", str(cfg), "--source", "nope"])
    assert res.exit_code == 2 and "unknown source 'nope'" in res.output


def test_progress_bars_follow_the_run(sites, tmp_path):
    import io

    from rich.console import Console

    from scraper.progress import Bars
    out = io.StringIO()
    cfg = write_config(tmp_path / "c.toml", sites, tmp_path / "s.db")
    name = next(iter(sites.sites))
    with Bars(Console(file=out, force_terminal=True, width=100)) as bars:
        summary = _run(cfg, only=[name], progress=bars)
        task = bars.bars.tasks[bars.tasks[name]]
        assert task.total == task.completed == summary.new >= 1
    assert name in out.getvalue()


def test_refresh_sends_conditional_requests_for_stored_articles(sites, tmp_path):
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    assert _run(cfg).new == PAGES
    sites.take_hits()
    summary = _run(cfg, refresh=True)
    assert (summary.new, summary.unchanged, summary.failed) == (0, PAGES, 0)
    articles = [h for h in sites.take_hits() if h.path not in PAGE_PATHS | {"/"}]
    assert len(articles) == PAGES and all(h.conditional and h.status == 304 for h in articles)


def test_extra_notice_rules_of_a_source_are_applied(sites, tmp_path):
    import json
    truth = json.loads((FIXTURES / "en_ips_sahel_wells.truth.json").read_text())
    target = truth["body_paragraphs"][2]
    start = " ".join(target.split()[:6])
    rules = tmp_path / "rules.toml"
    rules.write_text(f"[[rule]]\nid = \"test.local_quirk\"\nkind = \"related\"\n"
                     f"pattern = '''^{__import__('re').escape(start)}'''\nmax_words = 400\n")
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    site = next(s for s in sites.sites.values() if any("sahel" in p for p in s.pages))
    text = cfg.read_text().replace(f'name = "{site.name}"',
                                   f'name = "{site.name}"\nrules = "{rules}"')
    cfg.write_text(text)
    assert _run(cfg, only=[site.name]).new == len(site.pages)
    body, removed = rows(db, "SELECT text, removed FROM articles WHERE url LIKE '%sahel%'")[0]
    assert start not in body
    assert {"text": target, "rule": "test.local_quirk"} in json.loads(removed)


def test_a_feed_is_parsed_in_the_run_process_when_the_pool_is_broken(tmp_path):
    import asyncio
    from concurrent.futures.process import BrokenProcessPool

    from scraper.config import Settings
    from scraper.run import _Run

    class Broken:
        def submit(self, *args, **kwargs):
            raise BrokenProcessPool("a worker died")

    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            b"<link>https://example.org/a</link><title>A</title></item></channel></rss>")
    job = _Run(Settings(), (), str(tmp_path / "x.db"), max_items=None, refresh=False,
               dry_run=False, progress=lambda event: None)
    job.pool = Broken()
    items = asyncio.run(job._parse_feed(feed, "https://example.org/feed", None))
    assert [c.url for c in items] == ["https://example.org/a"]


def test_the_last_batch_is_written_once_nothing_else_can_come(sites, tmp_path, monkeypatch):
    """With batches that would wait 30 s for more articles, the run still
    ends as soon as its last page is cleaned: nothing else is coming."""
    monkeypatch.setattr(runmod, "SAVE_QUIET", 30.0)
    monkeypatch.setattr(runmod, "SAVE_LINGER", 30.0)
    cfg = write_config(tmp_path / "s.toml", sites, tmp_path / "a.db")
    started = time.monotonic()
    summary = _run(cfg)
    assert summary.new == PAGES and time.monotonic() - started < 20
