"""save_stream's filter of stored band keys (scraper.store.bandfilter): it
may only save probes, never a link between copies."""
import random
import sqlite3

from store_helpers import body, edit, make_article

from scraper.store import Store, bandfilter


def test_the_filter_keeps_every_stored_key_and_drops_most_others(tmp_path):
    conn = sqlite3.connect(tmp_path / "k.db")
    conn.execute("CREATE TABLE minhash_bands (key INTEGER, article_id INTEGER)")
    conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY)")
    rng = random.Random(7)
    stored = [rng.getrandbits(36) for _ in range(5000)]
    conn.executemany("INSERT INTO minhash_bands VALUES (?, 1)", [(k,) for k in stored])
    known = bandfilter.BandFilter()
    assert known.ready(conn, 16)
    added = [rng.getrandbits(36) for _ in range(3000)]
    known.add(added)
    keys = sorted(stored + added)
    assert known.maybe(keys) == keys           # no stored or added key is ever dropped
    others = [rng.getrandbits(36) for _ in range(20000)]
    assert len(known.maybe(others)) < 200      # ~0.0% false positives at this size


def stream_items(start, count, texts):
    return [(make_article(i, site=f"s{i % 7}.org", text=texts(i)), None)
            for i in range(start, start + count)]


def test_copies_across_batches_of_a_stream_join_their_stories(tmp_path):
    """Every tenth text copies one stored before the stream; the second
    batch copies the first; the third is new: each finds its story (or
    none) through the filtered lookup."""
    old = body(1000, paragraphs=6)

    def text(i):
        if i % 10 == 0:
            return edit(old, i)
        return edit(body(i - 100, paragraphs=5), i) if 200 <= i < 300 else body(i, paragraphs=5)
    with Store(tmp_path / "s.db", workers=2) as store:
        before = store.save(make_article(999, site="old.org", text=old))
        results = list(store.save_stream(stream_items(100, 300, text), batch=100))
    for k, r in enumerate(results):
        i = 100 + k
        if i % 10 == 0:
            assert r.story_id == before.id
        elif 200 <= i < 300:   # a copy of article i - 100, saved one batch earlier
            assert r.story_id == results[k - 100].id
        else:
            assert r.story_id == r.id


def test_another_writer_between_batches_turns_the_filter_off(tmp_path):
    """A text stored by another connection while a stream runs is not in
    the stream's filter: the stream sees the file changed and looks up every
    key again, so a later copy of that text still joins it."""
    path = tmp_path / "two.db"
    theirs = body(4242, paragraphs=6)
    with Store(path, workers=2) as store, Store(path) as other:
        first = stream_items(0, 100, lambda i: body(i, paragraphs=5))
        second = [(make_article(500, site="copy.org", text=edit(theirs, 1)), None)] + \
            stream_items(501, 99, lambda i: body(i, paragraphs=5))
        stream = store.save_stream(first + second, batch=100)
        mine = [next(stream)]          # batch 1 is committed
        saved = other.save(make_article(9000, site="theirs.org", text=theirs))
        mine += list(stream)
    assert mine[100].story_id == saved.id
    assert all(r.story_id == r.id for r in mine[101:])


def test_a_short_stream_into_a_big_file_never_reads_all_its_keys(tmp_path):
    """Loading reads every stored key: it waits until the stream has looked
    up a LOAD_SHARE of them, as probing would have cost more by then."""
    conn = sqlite3.connect(tmp_path / "big.db")
    conn.execute("CREATE TABLE minhash_bands (key INTEGER, article_id INTEGER)")
    conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO articles (id) VALUES (1000)")   # ~16,000 stored keys
    known = bandfilter.BandFilter()
    assert not known.ready(conn, 1600) and known.words is None
    assert not known.ready(conn, 1600) and known.words is None
    assert known.ready(conn, 1600) and known.words is not None   # 4,800 >= 0.25 x 16,000
