"""Readers never see "database is locked" while a writer inserts; a writer
killed with SIGKILL at random moments leaves a sound, idempotent file."""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from scraper.store import Store

WRITER = """
import sys
from scraper.store import Store
from store_helpers import body, edit, fetch_row, make_article

db, n = sys.argv[1], int(sys.argv[2])
with Store(db) as store:
    for i in range(n):
        site = ("a.org", "b.org", "c.org")[i % 3]
        text = body(i // 3, paragraphs=2, words=25)         # every text on three sites
        if i % 3:
            text = edit(text, i, changes=2)
        text += "\\n\\nFooter of " + site                      # template memory at work
        art = make_article(i, site=site, text=text)
        store.save(art, fetch_row(art))
        if i % 50 == 0:
            print(i, flush=True)
print("done", flush=True)
"""


def _env():
    paths = [str(Path(__file__).parent), *sys.path]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _writer(tmp_path, db, n):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), str(db), str(n)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_readers_never_see_locked_while_writer_inserts(tmp_path):
    db = tmp_path / "w.db"
    Store(db).close()
    writer = _writer(tmp_path, db, 2000)
    errors, polls, seen = [], [0], [[], []]

    def read_loop(counts):
        while writer.poll() is None:
            try:
                with Store.open_readonly(db) as store:  # a fresh connection each time
                    counts.append(store.conn.execute("SELECT count(*) FROM articles").fetchone()[0])
                    store.search("footer")
                    store.stats()
                polls[0] += 1
            except Exception as exc:  # noqa: BLE001 - any error is a failure here
                errors.append(repr(exc))
            time.sleep(0.002)

    readers = [threading.Thread(target=read_loop, args=(counts,)) for counts in seen]
    for t in readers:
        t.start()
    out, err = writer.communicate(timeout=60)
    for t in readers:
        t.join()
    assert writer.returncode == 0, err
    assert not errors, errors[:3]
    assert polls[0] > 20
    for counts in seen:  # each reader sees the table only grow
        assert counts == sorted(counts) and counts[-1] > 0
    with Store.open_readonly(db) as store:
        assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 2000


def _snapshot(db):
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        return {
            "articles": q("SELECT id, norm_url, url, text, content_hash, story_id, title FROM articles "
                          "ORDER BY id"),
            "templates": q("SELECT site, key, pages FROM site_paragraphs ORDER BY 1, 2"),
            "sketches": q("SELECT article_id, site, para_keys, signature FROM article_sketches "
                          "ORDER BY 1"),
            "bands": q("SELECT key, article_id FROM minhash_bands ORDER BY 1, 2"),
            "fetched_urls": q("SELECT DISTINCT url FROM fetches ORDER BY 1"),
            "dup_urls": q("SELECT norm_url FROM articles GROUP BY norm_url HAVING count(*) > 1"),
        }
    finally:
        conn.close()


def test_kill_9_at_random_moments_then_rerun_is_idempotent(tmp_path):
    n = 450
    ref = tmp_path / "ref.db"
    proc = _writer(tmp_path, ref, n)
    assert proc.communicate(timeout=60)[0].strip().endswith("done")
    expected = _snapshot(ref)
    assert len(expected["articles"]) == n and not expected["dup_urls"]
    assert len({row[5] for row in expected["articles"]}) == n // 3  # one story per text

    db = tmp_path / "killed.db"
    rng = random.Random(5)
    kills = 0
    for _ in range(8):
        proc = _writer(tmp_path, db, n)
        for _ in range(rng.randint(1, 8)):  # let it get somewhere, a different place each time
            proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.02))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        _snapshot(db)  # sound after every kill
        if kills == 4:
            break
    assert kills >= 3
    proc = _writer(tmp_path, db, n)
    assert proc.communicate(timeout=60)[0].strip().endswith("done")
    assert _snapshot(db) == expected
    proc = _writer(tmp_path, db, n)  # and once more: nothing changes
    assert proc.communicate(timeout=60)[0].strip().endswith("done")
    assert _snapshot(db) == expected
