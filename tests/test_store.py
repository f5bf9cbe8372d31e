"""The SQLite store on real files: upserts, fetch history, sources, template
memory (wired into the cleaner), migrations, read-only opening."""
import json
import sqlite3

import pytest
from store_helpers import body, fetch_row, make_article

from scraper.errors import StoreError
from scraper.models import Article, FetchRow, Removed
from scraper.store import SCHEMA_VERSION, Store
from scraper.textkeys import content_hash, paragraph_key


@pytest.fixture
def db(tmp_path):
    return tmp_path / "t.db"


def test_new_unchanged_updated_keep_row_identity(db):
    with Store(db) as store:
        art = make_article(1)
        first = store.save(art, fetch_row(art, etag='"v1"'), now="2024-01-01T00:00:00+00:00")
        again = store.save(art, fetch_row(art), now="2024-01-02T00:00:00+00:00")
        changed = make_article(1, text=body(99))
        upd = store.save(changed, fetch_row(changed), now="2024-01-03T00:00:00+00:00")
        row = store.get(first.id)
        outcomes = [r[0] for r in store.conn.execute("SELECT outcome FROM fetches ORDER BY id")]
        count = store.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert (first.status, again.status, upd.status) == ("new", "unchanged", "updated")
    assert first.id == again.id == upd.id and count == 1
    assert row["first_seen"] == "2024-01-01T00:00:00+00:00"
    assert row["updated_at"] == "2024-01-03T00:00:00+00:00"
    assert row["text"] == body(99) and row["content_hash"] == content_hash(body(99))
    assert outcomes == ["new", "unchanged", "updated"]


def test_tracking_params_are_one_article(db):
    with Store(db) as store:
        a = store.save(make_article(5))
        b = store.save(Article(url="https://EXAMPLE.org/articles/5?utm_source=x#top", text=body(5)))
        assert store.has_url("https://example.org/articles/5?fbclid=1")
        assert not store.has_url("https://example.org/articles/6")
    assert a.id == b.id and b.status == "unchanged"


def test_record_fields_round_trip(db):
    art = make_article(2, authors=("Ana", "Bo"), removed=(Removed("Copyright X", "copyright"),),
                       original_source="CounterPunch", published="2016-02-10")
    with Store(db) as store:
        store.save(art)
    with Store.open_readonly(db) as store:
        rec = store.get(art.url)
        exported = list(store.export())
    expected = art.to_dict()
    assert {k: rec[k] for k in expected} == expected
    assert exported[0]["authors"] == ["Ana", "Bo"]
    assert exported[0]["removed"] == [{"text": "Copyright X", "rule": "copyright"}]


def test_fetch_history_and_validators(db):
    url = "https://example.org/articles/3"
    with Store(db) as store:
        assert store.validators(url) == (None, None)
        art = make_article(3)
        store.save(art, fetch_row(art, etag='"a"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"))
        store.record_fetch(FetchRow(url=url, fetched_at="2024-01-02", status=503, outcome="error",
                                    error="BadStatus: 503"))
        store.record_fetch(FetchRow(url=url, fetched_at="2024-01-03", status=304,
                                    outcome="not_modified", etag='"b"'))
        assert store.validators(url) == ('"b"', None)
        rows = store.conn.execute("SELECT status, outcome, error FROM fetches ORDER BY id").fetchall()
    assert rows == [(200, "new", None), (503, "error", "BadStatus: 503"), (304, "not_modified", None)]


def test_source_state(db):
    with Store(db) as store:
        assert store.source_state("cp") is None
        store.update_source("cp", "feed", "https://cp.org/feed", state={"etag": "x"}, now="t1")
        store.update_source("cp", ok=False, error="timeout", now="t2")
        state = store.source_state("cp")
    assert state["kind"] == "feed" and state["url"] == "https://cp.org/feed"
    assert state["last_run"] == "t2" and state["last_ok"] == "t1" and state["last_error"] == "timeout"
    assert state["state"] == {"etag": "x"}


def _page(i: int, footer: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in body(100 + i).split("\n\n"))
    return (f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            f"{paras}<p>{footer}</p></article></body></html>")


def test_template_memory_removes_repeated_footer(db):
    """A footer line no rule knows, seen on 3 pages of a site, is dropped
    from the next page of that site (rule "template"); the body stays."""
    from scraper.cleaner import clean

    footer = "Le Journal des Possibles paraît chaque mardi depuis la rue des Tanneurs à Nantes."
    site = "https://possibles.example/"
    with Store(db) as store:
        for i in range(3):
            url = f"{site}n/{i}"
            art = clean(_page(i, footer), url, template_keys=store.template_keys(url))
            assert footer in art.text  # not known yet: kept
            store.save(art)
        assert paragraph_key(footer) in store.template_keys(site)
        assert paragraph_key(footer) not in store.template_keys("other.example")
        url = f"{site}n/3"
        art = clean(_page(3, footer), url, template_keys=store.template_keys(url))
        store.save(art)
        assert store.template_keys("possibles.example") == store.template_keys(url)
        pages = store.conn.execute("SELECT pages FROM site_paragraphs WHERE key = ?",
                                   (paragraph_key(footer),)).fetchone()[0]
    assert footer not in art.text
    assert Removed(footer, "template") in art.removed
    assert body(103).split("\n\n")[0][:60] in art.text
    assert pages == 4  # counted on its 4th page too, through the removed entry


def test_template_counts_follow_page_updates(db):
    with Store(db) as store:
        for i in range(3):
            store.save(make_article(i, text=body(i) + "\n\nShared footer line here"))
        key = paragraph_key("Shared footer line here")
        assert key in store.template_keys("example.org")
        store.save(make_article(0, text=body(0)))  # the page lost its footer
        assert key not in store.template_keys("example.org")
        assert key in store.template_keys("example.org", min_pages=2)


V1_SCHEMA = """
CREATE TABLE articles (id INTEGER PRIMARY KEY, norm_url TEXT NOT NULL UNIQUE, url TEXT,
  final_url TEXT, canonical_url TEXT, site TEXT, domain TEXT, title TEXT, authors TEXT,
  published TEXT, language TEXT, page_language TEXT, original_source TEXT, original_url TEXT,
  text TEXT, removed TEXT, word_count INTEGER, content_hash TEXT, fetched_at TEXT,
  first_seen TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE fetches (id INTEGER PRIMARY KEY, url TEXT NOT NULL, status INTEGER,
  outcome TEXT NOT NULL, error TEXT, etag TEXT, last_modified TEXT, bytes INTEGER, elapsed REAL,
  fetched_at TEXT NOT NULL);
CREATE TABLE sources (name TEXT PRIMARY KEY, kind TEXT, url TEXT, last_run TEXT, last_ok TEXT,
  last_error TEXT, state TEXT);
PRAGMA user_version = 1;
"""


def test_migrates_a_v1_file_without_losing_data(db):
    conn = sqlite3.connect(db)
    conn.executescript(V1_SCHEMA)
    for i, site in enumerate(["a.org", "b.org"]):
        conn.execute("INSERT INTO articles (id, norm_url, url, site, domain, title, authors, text, "
                     "removed, content_hash, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, 'Old title', "
                     "'[]', ?, '[]', ?, 'then', 'then')",
                     (i + 1, f"https://{site}/x", f"https://{site}/x", site, site, body(7),
                      content_hash(body(7))))
    conn.execute("INSERT INTO fetches (url, outcome, fetched_at) VALUES ('https://a.org/x', 'new', 't')")
    conn.commit()
    conn.close()

    with Store.open_readonly(db) as store:  # a read command upgrades the file first
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        hits = store.search("old title")
        assert [h["id"] for h in hits] == [1, 2]
        assert [c["site"] for c in store.copies("https://b.org/x")] == ["a.org", "b.org"]
        assert store.get(1)["first_seen"] == "then"
        assert store.stats()["fetches"] == 1
    with Store(db) as store:
        assert store.save(Article(url="https://a.org/x", text=body(7))).status == "unchanged"


def crc32_signature(text: str) -> list[int]:
    """The MinHash of schema v3-v5: crc32 of each shingle."""
    import zlib

    from scraper.store import sketch
    words = text.encode("utf-8").split()
    mins: dict[int, int] = {}
    for i in range(len(words) - 2):
        h = zlib.crc32(b" ".join(words[i:i + 3]))
        mins[h % 64] = min(h, mins.get(h % 64, h))
    return [mins[b] for b in range(64)] if len(mins) == 64 else sketch._densify(mins)


def test_migrating_a_v5_file_rehashes_its_sketches_so_new_copies_find_old_articles(db):
    from array import array

    from scraper.store import sketch
    from scraper.textkeys import normalize_text
    from store_helpers import edit
    texts = [body(i, paragraphs=6) for i in (21, 22, 23)]
    with Store(db) as store:
        ids = [store.save(make_article(i, site="a.org", text=t)).id for i, t in zip((1, 2, 3), texts)]
        # the file as release v5 wrote it: crc32 signatures and their band keys
        with store.transaction() as conn:
            conn.execute("DELETE FROM minhash_bands_main")
            conn.execute("DELETE FROM minhash_bands_recent")
            for art_id, text in zip(ids, texts):
                old = array("I", crc32_signature(normalize_text(text)))
                conn.execute("UPDATE article_sketches SET signature = ? WHERE article_id = ?",
                             (sketch.to_blob(old), art_id))
                conn.executemany("INSERT INTO minhash_bands_main VALUES (?, ?)",
                                 [(k, art_id) for k in sketch.band_keys(old)])
            conn.execute("PRAGMA user_version = 5")
    with Store(db) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for art_id, text in zip(ids, texts):
            sig = sketch.signature(normalize_text(text))
            blob = store.conn.execute("SELECT signature FROM article_sketches WHERE article_id = ?",
                                      (art_id,)).fetchone()[0]
            assert blob == sketch.to_blob(sig)
            keys = {r[0] for r in store.conn.execute(
                "SELECT key FROM minhash_bands WHERE article_id = ?", (art_id,))}
            assert keys == set(sketch.band_keys(sig))
        copy = store.save(make_article(9, site="b.org", text=edit(texts[1], 1)))
        assert copy.story_id == ids[1]
        assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 4


def test_newer_file_is_refused(db):
    sqlite3.connect(db).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db)


def test_readonly_open_never_creates_and_cannot_write(db, tmp_path):
    with pytest.raises(StoreError, match="no database"):
        Store.open_readonly(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    Store(db).close()
    with Store.open_readonly(db) as store:
        with pytest.raises(StoreError):
            store.save(make_article(1))
    with Store.open_readonly(db) as store:
        assert store.get(1) is None


def test_not_a_database(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Store.open_readonly(bad)
    with pytest.raises(StoreError):
        Store(bad)


def test_pragmas(db):
    with Store(db) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_export_filters_and_stats(db):
    with Store(db) as store:
        store.save(make_article(1, site="a.org", published="2020-01-01"))
        store.save(make_article(2, site="b.org", language="fr", published="2023-05-01",
                                original_source="CounterPunch"))
    with Store.open_readonly(db) as store:
        assert [r["site"] for r in store.export(since="2022-01-01")] == ["b.org"]
        assert [r["site"] for r in store.export(site="a.org")] == ["a.org"]
        with pytest.raises(StoreError, match="not a date"):
            list(store.export(since="yesterday"))
        stats = store.stats()
    assert stats["articles"] == 2
    assert {"value": "CounterPunch", "count": 1} in stats["by_original_source"]
    assert {"value": "fr", "count": 1} in stats["by_language"]
    assert json.dumps(stats)


def test_fts_follows_other_writers_and_batches(db):
    """Rows written by another tool are indexed by the triggers; the store's
    own batches are indexed once per batch; fts_pending is left empty."""
    with Store(db) as store:
        store.save_many([(make_article(i), None) for i in range(5)])
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO articles (norm_url, url, title, text, first_seen, updated_at) "
                 "VALUES ('https://x.org/1', 'https://x.org/1', 'Zanzibar', 'Quokka text', 't', 't')")
    conn.execute("UPDATE articles SET title = 'Kumquat' WHERE id = 1")
    conn.commit()
    conn.close()
    with Store(db) as store:
        assert [h["id"] for h in store.search("zanzibar quokka")] == [6]
        assert [h["id"] for h in store.search("kumquat")] == [1]
        assert store.search("article") and len(store.search("article", limit=100)) == 4
        store.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        assert store.conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0] == 0


def test_worker_processes_give_the_same_store(tmp_path):
    items = [(make_article(i, site=f"s{i % 3}.org", text=body(i // 3, paragraphs=3)
                           + "\n\nSame footer"), None) for i in range(90)]
    dumps = []
    for workers in (0, 2):
        with Store(tmp_path / f"w{workers}.db", workers=workers) as store:
            store.save_many(items, now="t")
            assert (store._pool is not None) == bool(workers)
            dumps.append([store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                          for t in ("articles", "site_paragraphs", "minhash_bands")])
    assert dumps[0] == dumps[1]
    assert len({row[-1] for row in dumps[0][0]}) == 30  # story_id: three copies per text


def test_save_stream_equals_save_many_per_batch(tmp_path):
    """save_stream (next batch prepared while one is written) stores exactly
    what save_many does batch by batch, copies across batches linked."""
    items = [(make_article(i, site=f"s{i % 3}.org", text=body(i // 3, paragraphs=3)
                           + "\n\nSame footer"), None) for i in range(150)]
    dumps, results = [], []
    for mode, workers in (("many", 0), ("stream", 2), ("stream", 0)):
        with Store(tmp_path / f"{mode}{workers}.db", workers=workers) as store:
            if mode == "many":
                out = [r for k in range(0, 150, 70) for r in store.save_many(items[k:k + 70],
                                                                              now="t")]
            else:
                out = list(store.save_stream(iter(items), batch=70, now="t"))
            results.append(out)
            dumps.append([store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                          for t in ("articles", "site_paragraphs", "minhash_bands", "fetches")])
            store.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
    assert dumps[0] == dumps[1] == dumps[2]
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 150 and len({r.story_id for r in results[0]}) == 50


def test_changed_page_in_a_prepared_batch_leaves_its_old_copies(tmp_path):
    """A big batch looks up the stored band keys of all its texts at once
    (prepared by the workers). A page changed in it drops its old keys: a
    copy of its old text later in the same batch is linked to the other
    old copy, not to it, exactly as when every lookup is made one by one.
    The changed page named the old story (its oldest copy): the next
    oldest copy names it now."""
    old, new = body(1000, paragraphs=3), body(2000, paragraphs=3)
    first = [(make_article(1, text=old), None), (make_article(2, site="b.org", text=old), None)]
    batch = ([(make_article(1, text=new), None)]
             + [(make_article(10 + i, site=f"s{i % 4}.org", text=body(i, paragraphs=3)), None)
                for i in range(70)]
             + [(make_article(3, site="c.org", text=old + " Edited."), None)])
    dumps = []
    for workers in (0, 2):
        with Store(tmp_path / f"w{workers}.db", workers=workers) as store:
            stored = store.save_many(first, now="t")
            results = store.save_many(batch, now="t")
            assert (store._pool is not None) == bool(workers)
            assert results[0].status == "updated" and results[0].story_id == stored[0].id
            assert results[-1].story_id == stored[1].id   # the story of the old text
            assert store.get(stored[1].id)["story_id"] == stored[1].id
            assert [c["id"] for c in store.copies(stored[1].id)] == [stored[1].id, results[-1].id]
            dumps.append([store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                          for t in ("articles", "minhash_bands")])
    assert dumps[0] == dumps[1]


def test_same_url_twice_in_one_batch(db):
    with Store(db) as store:
        first, second = store.save_many([(make_article(1), None),
                                         (make_article(1, text="Brand new wording here."), None)])
        store.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        assert (first.status, second.status, first.id) == ("new", "updated", second.id)
        assert [h["id"] for h in store.search("wording")] == [1]
        assert store.search(body(1).split()[0]) == []


def test_recent_tables_merged_into_main_give_the_same_store(tmp_path, monkeypatch):
    """Band keys and template counts wait in *_recent tables and are merged
    into *_main now and then (schema v5): however often that happens, the
    views, the template memory and the copy links are the same, including
    after pages change (counts going down, old band keys dropped)."""
    from scraper.store import core

    items = [(make_article(i, site=f"s{i % 3}.org", text=body(i // 3, paragraphs=3)
                           + "\n\nSame footer"), None) for i in range(60)]
    changed = [(make_article(i, site=f"s{i % 3}.org", text=body(500 + i, paragraphs=3)), None)
               for i in range(0, 60, 4)]
    dumps = []
    for rows in (core.RECENT_ROWS, 7):
        monkeypatch.setattr(core, "RECENT_ROWS", rows)
        with Store(tmp_path / f"r{rows}.db") as store:
            results = [r for k in range(0, 60, 20) for r in store.save_many(items[k:k + 20], now="t")]
            results += store.save_many(changed, now="u")
            q = lambda sql: store.conn.execute(sql).fetchall()  # noqa: E731
            main = q("SELECT count(*) FROM minhash_bands_main")[0][0]
            assert (main > 0) == (rows == 7)
            dumps.append([results, q("SELECT * FROM site_paragraphs ORDER BY 1, 2"),
                          q("SELECT * FROM minhash_bands ORDER BY 1, 2"),
                          q("SELECT id, story_id FROM articles ORDER BY 1"),
                          sorted(store.template_keys("s1.org"))])
    assert dumps[0] == dumps[1]
    assert dumps[0][4] == [paragraph_key("Same footer")]
    pages = {key: n for site, key, n in dumps[0][1] if site == "s1.org"}
    assert pages[paragraph_key("Same footer")] == 20 - 5  # 5 of s1's 20 pages lost the footer


def test_a_changed_page_names_the_story_it_joins_when_it_is_the_oldest(db):
    """A story is named after its oldest copy (the smallest id). A page
    whose text changes to a copy of newer articles' story joins it and,
    being older, names it; the story it left is named by its next oldest."""
    first, second = body(1000, paragraphs=3), body(2000, paragraphs=3)
    with Store(db) as store:
        a, b, c = store.save_many([(make_article(1, text=first), None),
                                   (make_article(2, site="b.org", text=first + " Edited."), None),
                                   (make_article(3, site="c.org", text=second), None)])
        assert (a.story_id, b.story_id, c.story_id) == (a.id, a.id, c.id)
        moved = store.save(make_article(1, text=second + " Again."))
        assert moved.status == "updated" and moved.story_id == a.id
        assert store.get(c.id)["story_id"] == a.id
        assert store.get(b.id)["story_id"] == b.id
        assert sorted(r["id"] for r in store.copies(c.id)) == [a.id, c.id]
