"""The store commands, run for real on SQLite files: search, query, export,
show, stats, copies, serve (Datasette)."""
import asyncio
import csv
import io
import json
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from store_helpers import body, edit, fetch_row, make_article

from scraper.cli import cli
from scraper.store import Store, datasette_metadata


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "news.db"
    text = body(1, paragraphs=5)
    with Store(path) as store:
        for i, (site, lang, orig) in enumerate([("counterpunch.org", "en", None),
                                                ("mondialisation.ca", "en", "CounterPunch"),
                                                ("globalresearch.ca", "en", "CounterPunch")]):
            art = make_article(i, site=site, language=lang, text=edit(text, i) if i else text,
                               original_source=orig, published=f"2016-02-1{i}",
                               title="Putin's Aleppo Gamble Pays Off")
            store.save(art, fetch_row(art))
        for i in range(3, 8):
            art = make_article(i, site="pressenza.com", language="fr", text=body(i, "fr"),
                               published="2023-01-01")
            store.save(art, fetch_row(art))
    return path


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def _count(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def test_search_formats_and_filters(db):
    res = run("search", "aleppo gamble", "--db", db, "--format", "jsonl")
    assert res.exit_code == 0, res.output
    hits = [json.loads(line) for line in res.output.splitlines()]
    assert len(hits) == 3 and all("[Aleppo]" in h["snippet"] or h["snippet"] for h in hits)
    assert [h["rank"] for h in hits] == sorted(h["rank"] for h in hits)  # best first
    res = run("search", "aleppo", "--db", db, "--site", "mondialisation.ca", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [r["site"] for r in rows] == ["mondialisation.ca"]
    res = run("search", "aleppo", "--db", db, "--language", "fr")
    assert res.exit_code == 0 and res.output.splitlines()[1:] == []
    res = run("search", "aleppo", "--db", db, "--since", "2016-02-11", "--limit", "1")
    assert res.exit_code == 0 and len(res.output.splitlines()) == 2  # header + 1 row
    assert res.output.splitlines()[0].split("\t")[:3] == ["id", "site", "language"]


def test_db_from_environment(db):
    res = run("search", "aleppo", env={"SCRAPER_DB": str(db)})
    assert res.exit_code == 0 and "counterpunch.org" in res.output


@pytest.mark.parametrize("attack", ['x"; DROP TABLE articles;--', "' OR 1=1--", '"', "NEAR(", "*"])
def test_search_attacks(db, attack):
    res = run("search", attack, "--db", db)
    assert res.exit_code in (0, 1)
    if res.exit_code:
        assert res.output.count("\n") == 1 and res.output.startswith("Error: ")
    assert "Traceback" not in res.output and _count(db) == 8


def test_read_commands_never_create_a_file(tmp_path):
    missing = tmp_path / "none.db"
    for args in (["search", "x"], ["query", "SELECT 1"], ["export"], ["show", "1"], ["stats"],
                 ["copies", "1"]):
        res = run(*args, "--db", missing)
        assert res.exit_code == 1 and res.output == f"Error: no database at {missing}\n", args
    assert not missing.exists()


def test_query_binds_and_refuses_writes(db):
    res = run("query", "SELECT site FROM articles WHERE id = :id", "-p", "id", "2", "--db", db,
              "--format", "jsonl")
    assert res.exit_code == 0 and json.loads(res.output) == {"site": "mondialisation.ca"}
    res = run("query", "SELECT count(*) AS n FROM articles WHERE title = :t", "-p", "t",
              "' OR 1=1--", "--db", db, "--format", "csv")
    assert res.output.splitlines() == ["n", "0"]
    for sql in ["DELETE FROM articles", "DROP TABLE articles", "SELECT 1; DELETE FROM articles"]:
        res = run("query", sql, "--db", db)
        assert res.exit_code == 1 and res.output.count("\n") == 1, res.output
    assert "read-only" in run("query", "DELETE FROM articles", "--db", db).output
    assert _count(db) == 8


def test_export_streams_records(db):
    res = run("export", "--db", db)
    records = [json.loads(line) for line in res.output.splitlines()]
    assert len(records) == 8 and records[0]["authors"] == [] and records[0]["story_id"] == 1
    res = run("export", "--db", db, "--format", "csv", "--site", "pressenza.com", "--since", "2022")
    assert len(list(csv.DictReader(io.StringIO(res.output)))) == 5
    res = run("export", "--db", db, "--since", "last week")
    assert res.exit_code == 1 and "not a date" in res.output


def test_show_stats_copies(db):
    res = run("show", "https://mondialisation.ca/articles/1?utm_source=feed", "--db", db)
    assert res.exit_code == 0 and json.loads(res.output)["original_source"] == "CounterPunch"
    assert json.loads(run("show", "3", "--db", db).output)["id"] == 3
    res = run("show", "https://nowhere.example/", "--db", db)
    assert res.exit_code == 1 and res.output.startswith("Error: no article")
    stats = json.loads(run("stats", "--db", db, "--format", "json").output)
    assert stats["articles"] == 8 and stats["stories_with_copies"] == 1
    assert "pressenza.com" in run("stats", "--db", db).output
    res = run("copies", "https://globalresearch.ca/articles/2", "--db", db, "--format", "jsonl")
    members = [json.loads(line) for line in res.output.splitlines()]
    assert [m["site"] for m in members] == ["counterpunch.org", "mondialisation.ca",
                                            "globalresearch.ca"]
    assert members[0]["is_original"] and members[1]["original_source"] == "CounterPunch"
    assert {"language", "published"} <= set(members[0])


def test_search_is_light_and_fast(db):
    """Read commands import neither trafilatura nor httpx (nor numpy, which
    only sketching a text needs)."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "scraper", "search", "aleppo",
                           "--db", str(db)], capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "scraper.store" in imported and "sqlite3" in imported
    assert not {m for m in imported if m.split(".")[0] in ("trafilatura", "httpx", "langdetect",
                                                            "sqlite_utils", "numpy")}
    assert elapsed < 3, elapsed  # ~0.2 s on an idle machine; generous for a shared CI box


def test_datasette_serves_the_file_with_facets_and_search(db):
    from datasette.app import Datasette

    async def fetch():
        ds = Datasette([str(db)], metadata=datasette_metadata(str(db)))
        search = await ds.client.get("/news/articles.json?_search=aleppo&_shape=objects")
        tables = await ds.client.get("/news.json")
        return search.json(), tables.json()

    search, tables = asyncio.run(fetch())
    assert {row["site"] for row in search["rows"]} == {"counterpunch.org", "mondialisation.ca",
                                                      "globalresearch.ca"}
    assert set(search["facet_results"]) >= {"site", "language", "original_source"}
    langs = {v["value"]: v["count"] for v in search["facet_results"]["language"]["results"]}
    assert langs == {"en": 3}
    names = {t["name"]: t for t in tables["tables"]}
    assert {"articles", "fetches", "sources"} <= set(names)
    assert all(names[t]["hidden"] for t in ("minhash_bands_main", "minhash_bands_recent",
                                            "site_paragraphs_main", "site_paragraphs_recent"))
    assert "site_paragraphs" in {v["name"] for v in tables["views"]}  # schema v5: a view
    assert _count(db) == 8


def test_serve_refuses_a_missing_file(tmp_path):
    res = run("serve", "--db", tmp_path / "none.db")
    assert res.exit_code == 1 and res.output.startswith("Error: no database")


def test_serve_runs_datasette_on_loopback(db):
    import os
    import signal
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "scraper", "serve", "--db", str(db), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        deadline, data = time.monotonic() + 20, None
        while data is None and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/news/articles.json?_search=aleppo&_shape=objects"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    data = json.load(resp)
            except OSError:
                time.sleep(0.2)
        assert data is not None, "datasette did not answer"
        assert len(data["rows"]) == 3 and "original_source" in data["facet_results"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_output_cut_short_by_the_reader_is_quiet(tmp_path):
    import os

    path = tmp_path / "many.db"
    with Store(path) as store:
        store.save_many([(make_article(i), None) for i in range(400)])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for args in (["export"], ["query", "SELECT * FROM articles"]):
        proc = subprocess.Popen([sys.executable, "-m", "scraper", *args, "--db", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=20) == 0 and err == "", err


def test_serve_without_datasette_is_one_clear_line(db, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # datasette is installed here: hide it
                        lambda name, *a: None if name == "datasette" else real(name, *a))
    res = run("serve", "--db", db)
    assert res.exit_code == 1
    assert res.output == "Error: datasette is not installed: pip install 'scraper[web]'\n"
