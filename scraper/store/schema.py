"""Schema and migrations, keyed by ``PRAGMA user_version``.

``MIGRATIONS[i]`` brings a file from version ``i`` to ``i + 1``. A newer
release opens an older file by running the missing steps in order, each in
its own transaction; nothing is dropped. Add a step at the end, never edit
a released one.

    v1  articles, fetches, sources
    v2  FTS5 over articles(title, text), kept in sync by triggers
    v3  site template memory, near-duplicate sketches and bands, story_id
    v4  FTS5 tuned for batches: write buffer (hashsize) and merge width (automerge)
    v5  band keys and template counts written to small *_recent tables, merged
        into the big *_main ones now and then; minhash_bands and
        site_paragraphs become views over both
    v6  MinHash signatures and band keys recomputed: the shingle hash is now
        computed with numpy (scraper.store.sketch), not zlib.crc32
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..models import ARTICLE_FIELDS

# Ids the store itself indexes for full text at the end of a batch (one
# statement) instead of the insert trigger. Empty outside a save transaction.
FTS_PENDING = "fts_pending"

def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run ';'-separated statements inside the caller's transaction
    (sqlite3's executescript would commit it first)."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    cols = ",\n  ".join(f"{f} {'INTEGER' if f == 'word_count' else 'TEXT'}" for f in ARTICLE_FIELDS)
    _script(conn, f"""
CREATE TABLE articles (
  id INTEGER PRIMARY KEY,
  norm_url TEXT NOT NULL UNIQUE,
  {cols},
  first_seen TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX articles_site ON articles(site);
CREATE INDEX articles_domain ON articles(domain);
CREATE INDEX articles_language ON articles(language);
CREATE INDEX articles_published ON articles(published);
CREATE TABLE fetches (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  status INTEGER,
  outcome TEXT NOT NULL,
  error TEXT,
  etag TEXT,
  last_modified TEXT,
  bytes INTEGER,
  elapsed REAL,
  fetched_at TEXT NOT NULL
);
CREATE INDEX fetches_url ON fetches(url, id);
CREATE TABLE sources (
  name TEXT PRIMARY KEY,
  kind TEXT,
  url TEXT,
  last_run TEXT,
  last_ok TEXT,
  last_error TEXT,
  state TEXT
);
""")


def _v2(conn: sqlite3.Connection) -> None:
    """FTS5 as sqlite-utils makes it (Datasette's search box finds it), with
    two trigger changes: the insert trigger stands aside while Store.save_many
    indexes its batch in one statement (a per-row trigger makes FTS5 flush at
    every statement savepoint: 3x slower), and the update trigger only fires
    when title or text change. sqlite-utils commits as it goes, so this step
    is idempotent instead of atomic: a rerun replaces a half-made index."""
    import sqlite_utils  # only here: read-only commands never pay for it

    db = sqlite_utils.Database(conn)
    db["articles"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True,
                              replace=True)
    _script(conn, f"""
CREATE TABLE IF NOT EXISTS {FTS_PENDING} (id INTEGER PRIMARY KEY);
DROP TRIGGER IF EXISTS articles_ai;
DROP TRIGGER IF EXISTS articles_ad;
DROP TRIGGER IF EXISTS articles_au;
CREATE TRIGGER articles_ai AFTER INSERT ON articles
WHEN NOT EXISTS (SELECT 1 FROM {FTS_PENDING} WHERE id = new.rowid) BEGIN
  INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles
WHEN NOT EXISTS (SELECT 1 FROM {FTS_PENDING} WHERE id = old.rowid) BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
END;
CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles
WHEN NOT EXISTS (SELECT 1 FROM {FTS_PENDING} WHERE id = old.rowid) BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
  INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
END""")


def _v3(conn: sqlite3.Connection) -> None:
    _script(conn, """
ALTER TABLE articles ADD COLUMN story_id INTEGER;
CREATE INDEX articles_story ON articles(story_id);
CREATE TABLE site_paragraphs (
  site TEXT NOT NULL,
  key TEXT NOT NULL,
  pages INTEGER NOT NULL,
  PRIMARY KEY (site, key)
) WITHOUT ROWID;
CREATE TABLE article_sketches (
  article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
  site TEXT,
  para_keys TEXT NOT NULL,
  signature BLOB
);
CREATE TABLE minhash_bands (
  key INTEGER NOT NULL,
  article_id INTEGER NOT NULL,
  PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
""")
    # the sketches of rows written by v1/v2 are filled by v5 (backfill_sketches
    # is the store's current code, which writes to the v5 tables)


# FTS5 keeps new terms in memory and writes a segment when they exceed this
# (default 1 MiB: ~6 segments per 1,000 articles, each merged again later).
# 16 MiB holds a batch of 1,000 articles: one segment per batch, ~1.5x faster
# indexing. Stored in articles_fts_config, so it applies to every writer.
FTS_HASHSIZE = 16 * 1024 * 1024
# Segments of one level merged together (FTS5 default 4, maximum 16): each
# posting is rewritten about half as often; a query reads a few more
# segments (benchmark at 100,000 articles: FTS p95 ~10 ms, target 20 ms).
FTS_AUTOMERGE = 16


def _v4(conn: sqlite3.Connection) -> None:
    for name, value in (("hashsize", FTS_HASHSIZE), ("automerge", FTS_AUTOMERGE)):
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES (?, ?)", (name, value))


def _v5(conn: sqlite3.Connection) -> None:
    """A random key inserted into a big index dirties a page of its own:
    at 100,000 articles every batch rewrote nearly all of minhash_bands and
    site_paragraphs (~0.2 ms per article, growing with the file). New rows
    now go to small *_recent tables (hot in the cache); Store merges them
    into *_main in key order once they hold RECENT_ROWS rows. The views keep
    the old names and contents for readers."""
    _script(conn, """
ALTER TABLE site_paragraphs RENAME TO site_paragraphs_main;
CREATE TABLE site_paragraphs_recent (
  site TEXT NOT NULL,
  key TEXT NOT NULL,
  pages INTEGER NOT NULL,
  PRIMARY KEY (site, key)
) WITHOUT ROWID;
CREATE VIEW site_paragraphs AS
  SELECT site, key, sum(pages) AS pages FROM (
    SELECT site, key, pages FROM site_paragraphs_main
    UNION ALL SELECT site, key, pages FROM site_paragraphs_recent)
  GROUP BY site, key HAVING sum(pages) > 0;
ALTER TABLE minhash_bands RENAME TO minhash_bands_main;
CREATE TABLE minhash_bands_recent (
  key INTEGER NOT NULL,
  article_id INTEGER NOT NULL,
  PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
CREATE VIEW minhash_bands AS
  SELECT key, article_id FROM minhash_bands_main
  UNION ALL SELECT key, article_id FROM minhash_bands_recent;
""")
    from .core import backfill_sketches  # articles stored before v3 have no sketch yet
    backfill_sketches(conn)


def _v6(conn: sqlite3.Connection) -> None:
    """The shingle hash changed (a polynomial hash computed for a whole
    text at once, ~4x faster to sketch an article than crc32 shingle by
    shingle): signatures and band keys made by the old one are recomputed
    from the stored texts, so new copies still find them."""
    from .core import rehash_sketches
    rehash_sketches(conn)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations, each in one transaction. Returns the
    version the file had before. A file newer than this release is refused."""
    from ..errors import StoreError

    conn.execute("BEGIN IMMEDIATE")
    try:
        before = user_version(conn)
    finally:
        conn.execute("ROLLBACK")
    if before > SCHEMA_VERSION:
        raise StoreError(f"database schema v{before} is newer than this scraper (v{SCHEMA_VERSION}); "
                         "upgrade scraper")
    for version in range(before, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if user_version(conn) == version:  # another process may have migrated meanwhile
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return before
