"""save_stream checkpoints the WAL in a background thread (scraper.store.wal)."""
import os
import sqlite3
import threading

import pytest
from store_helpers import body, make_article

from scraper.store import Store, wal


def items(n, offset=0):
    return [(make_article(offset + i, site=f"s{i % 4}.org", text=body(offset + i, paragraphs=5)),
             None) for i in range(n)]


def checkpoint_threads():
    return [t for t in threading.enumerate() if t.name == "scraper-checkpoint"]


@pytest.fixture
def small_wal(monkeypatch):
    monkeypatch.setattr(wal, "WAL_LIMIT_PAGES", 16)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_long_stream_keeps_the_wal_small_and_stores_everything(tmp_path, small_wal, workers):
    path = tmp_path / "t.db"
    with Store(path, workers=workers) as store:
        for result in store.save_stream(items(1600), batch=80):
            assert result.status == "new"
            assert checkpoint_threads()
        assert not checkpoint_threads()
        # the writer's own checkpoints are back for ordinary saves
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        db_size = os.path.getsize(path)
        assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 1600
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        assert [h["id"] for h in store.search(body(7, paragraphs=5).split()[3], limit=1000)]
        # pages in the WAL since it last started again: a few batches' worth,
        # not the whole load (which wrote over three times the file's size
        # through it: every batch rewrites index pages)
        page = store.conn.execute("PRAGMA page_size").fetchone()[0]
        frames = sqlite3.connect(path).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    assert 0 < frames * page < db_size, (frames, page, db_size)


def test_a_reader_holding_a_snapshot_through_the_stream(tmp_path, small_wal):
    """A checkpoint cannot pass a reader's snapshot: the stream still ends,
    and the reader sees the file as it was when it began reading."""
    path = tmp_path / "t.db"
    with Store(path) as store:
        store.save_many(items(10, offset=5000))
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 10
        assert len(list(store.save_stream(items(400), batch=50))) == 400
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 10
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 410
        reader.close()
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_stream_stopped_early_stops_its_thread_and_keeps_what_it_yielded(tmp_path, small_wal):
    path = tmp_path / "t.db"
    with Store(path) as store:
        stream = store.save_stream(items(500), batch=50)
        yielded = [next(stream) for _ in range(120)]
        stream.close()
        assert not checkpoint_threads()
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        stored = store.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert stored >= 120 and stored % 50 == 0   # whole batches only
    with Store(path) as store:
        assert {r.id for r in yielded} <= {r[0] for r in store.conn.execute("SELECT id FROM articles")}
