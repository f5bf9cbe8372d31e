"""The SQLite store: articles, fetch history, sources, site template memory,
near-duplicate links and full-text search. See ``Store``."""
from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from ..errors import StoreError
from ..models import ARTICLE_FIELDS, Article, FetchRow
from ..textkeys import content_hash, fold, normalize_text, words
from ..urls import domain_of, normalize_url
from . import sketch
from .bandfilter import BandFilter
from .schema import FTS_PENDING, SCHEMA_VERSION, migrate, user_version
from .wal import Checkpointer

BUSY_TIMEOUT_MS = 5000        # readers and writers wait this long for a lock
CACHE_KIB = 64 * 1024         # page cache of a writing connection
# 16 KiB pages (SQLite's default is 4): an article's row fits in one page
# instead of a chain of overflow pages, and a batch writes a quarter as many
# pages to the WAL and back
PAGE_SIZE = 16384
WAL_AUTOCHECKPOINT = 1000     # SQLite's default (pages), restored after a save_stream
MMAP_BYTES = 256 * 1024 * 1024  # readers map the file: faster searches
WORKER_NICENESS = 5          # added to the preparing workers' niceness
PARALLEL_MIN_BATCH = 64       # smaller batches are prepared inline even with workers
TEMPLATE_MIN_PAGES = 3        # a paragraph on this many pages of a site is template
# New band keys and template counts wait in small tables until one holds this
# many rows (~16,000 articles' band keys), then go to the big ones in one
# ordered pass (schema v5)
RECENT_ROWS = 1 << 18
SQL_PARAMS = 999              # bound parameters per statement (SQLite's lowest limit)
# A text is compared with at most CANDIDATES stored or batch articles, those
# sharing the most band keys with it, read from at most BAND_ROWS articles
# (the oldest) per band key: a story with thousands of copies costs a new
# copy no more than one with a hundred. 16 rows: a copy of a story with
# dozens of copies reads 4x fewer rows than with 64 (cron-job benchmark
# pages, stories of ~55 copies: the near-duplicate step 0.34-0.38 -> 0.25-0.32
# ms per article), and its CANDIDATES still come from up to 256 articles
BAND_ROWS = 16
CANDIDATES = 32
_ARTICLE_COLS = ("id", "norm_url", *ARTICLE_FIELDS, "first_seen", "updated_at", "story_id")
_INSERT_ARTICLE = (f"INSERT INTO articles ({', '.join(_ARTICLE_COLS)}) "
                   f"VALUES ({', '.join('?' * len(_ARTICLE_COLS))})")
_UPDATE_ARTICLE = (f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_FIELDS)}, "
                   "updated_at = ?, story_id = ? WHERE id = ?")
_FETCH_COLS = ("url", "status", "outcome", "error", "etag", "last_modified", "bytes", "elapsed",
               "fetched_at")
_INSERT_FETCH = f"INSERT INTO fetches ({', '.join(_FETCH_COLS)}) VALUES ({', '.join('?' * 9)})"
_JSON_FIELDS = ("authors", "removed")


@dataclass(frozen=True)
class SaveResult:
    """What Store.save did: the article's row id, "new" / "updated" /
    "unchanged", and the story (group of near-duplicate copies) it belongs to."""
    id: int
    status: str
    story_id: int | None


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(target, uri=uri, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {target}: {exc}") from exc
    return conn


class Store:
    """An SQLite file of clean articles.

    ``Store(path)`` opens or creates the file for writing (WAL, busy timeout,
    foreign keys) and migrates an older schema; ``Store.open_readonly(path)``
    opens an existing file read-only for search, query, export and show.
    Every ``save`` is one transaction: the article, its fetch row, the site
    template counts and the near-duplicate links are written together or not
    at all, so a kill -9 never leaves half an article.
    """

    def __init__(self, path: str | os.PathLike, *, workers: int = 0,
                 _conn: sqlite3.Connection | None = None):
        """``workers`` > 1: save_many prepares big batches (text
        normalisation, paragraph keys, MinHash) in that many processes while
        this one writes; 0 does everything here."""
        self.path = os.fspath(path)
        self.readonly = _conn is not None
        self.workers = workers
        self._pool = None
        self._recent: dict[str, int] = {}   # see _merge_recent
        if _conn is not None:
            self.conn = _conn
            return
        self.conn = _connect(self.path)
        try:
            # only a new, empty file takes it; an existing one keeps its own
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")  # WAL: safe against crashes/kill -9
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # band/URL indexes stay hot
            migrate(self.conn)
        except sqlite3.Error as exc:
            self.conn.close()
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc

    @classmethod
    def open_readonly(cls, path: str | os.PathLike) -> "Store":
        """Open an existing file read-only (sqlite URI mode=ro and
        PRAGMA query_only). A missing file is a StoreError, never created.
        A file from an older release is migrated first."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise StoreError(f"no database at {path}")
        conn = _connect(f"file:{_uri_path(path)}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            version = user_version(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path} is not a scraper database: {exc}") from exc
        if version < SCHEMA_VERSION:
            conn.close()
            cls(path).close()  # one-off upgrade of an older file, then read-only again
            return cls.open_readonly(path)
        return cls(path, _conn=conn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ---- writing -------------------------------------------------------
    def save(self, article: Article, fetch: FetchRow | None = None, *,
             now: str | None = None) -> SaveResult:
        """Insert or update one article (keyed by its normalised URL) with
        its fetch row, template counts and near-duplicate link, in one
        transaction. A changed page keeps its row id and bumps updated_at;
        the same content_hash gives "unchanged"."""
        return self.save_many([(article, fetch)], now=now)[0]

    def save_many(self, items: Iterable[tuple[Article, FetchRow | None]], *,
                  now: str | None = None) -> list[SaveResult]:
        """Like save for many articles in ONE transaction (fast bulk loads)."""
        items = list(items)
        return self._write_batch(items, self._prepared([art for art, _ in items]), now or utcnow())

    def save_stream(self, items: Iterable[tuple[Article, FetchRow | None]], *,
                    batch: int = 1000, now: str | None = None) -> Iterator[SaveResult]:
        """Save a long run of (article, fetch) pairs, one transaction (as
        save_many) per ``batch`` items, yielding the results in order. With
        workers, the texts of the next batch are prepared while this one is
        written, so both cores stay busy during the full-text indexing and
        the commit; the WAL is checkpointed by a background thread (see
        scraper.store.wal) instead of at the commits. Stopping early leaves
        every yielded batch committed."""
        ahead = None   # the batch read in advance, its preparation under way
        wal = None
        known = BandFilter()   # the band keys stored: most keys of new texts need no probe
        try:
            for chunk in itertools.chain(_batches(items, max(1, batch)), [None]):
                if chunk is not None:  # pool.map submits the work at once
                    chunk = (chunk, self._prepared([art for art, _ in chunk]))
                    if wal is None:  # a thread only once the pool has forked its workers
                        wal = self._checkpointer()
                if ahead is not None:
                    if wal:
                        wal.settle()
                    results = self._write_batch(*ahead, now or utcnow(), known)
                    if wal:
                        wal.kick()
                    yield from results
                ahead = chunk
        finally:
            if wal:
                wal.close()
                self.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")

    def _checkpointer(self) -> Checkpointer | bool:
        """A background checkpointer for this file, the writer's own
        checkpoints turned off; False when the file is not in WAL mode."""
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            return False
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        return Checkpointer(self.path, busy_timeout_ms=BUSY_TIMEOUT_MS)

    def _write_batch(self, items: list[tuple[Article, FetchRow | None]],
                     preps: Iterator[_Prepared | None], now: str,
                     known: BandFilter | None = None) -> list[SaveResult]:
        # a batch allocates many short-lived tuples and makes no cycles: the
        # collector's passes over every live object cost ~10% of the write
        collecting = gc.isenabled()
        gc.disable()
        try:
            with self.transaction() as conn:
                batch = _Batch(conn, self._recent,
                               known if known is not None
                               and known.ready(conn, len(items) * sketch.BANDS) else None)
                preps = list(preps)
                batch.prefetch(k for prep in preps if prep is not None for k in prep.bands)
                results = [_save_one(batch, art, fetch, now, prep)
                           for (art, fetch), prep in zip(items, preps)]
                batch.flush()
                conn.execute(f"INSERT INTO articles_fts (rowid, title, text) SELECT a.id, a.title, "
                             f"a.text FROM {FTS_PENDING} p JOIN articles a ON a.id = p.id")
                conn.execute(f"DELETE FROM {FTS_PENDING}")
                return results
        except BaseException as exc:
            self._recent.clear()  # rolled back: the *_recent rows are counted again
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"could not save: {exc}") from exc
            raise
        finally:
            if collecting:
                gc.enable()

    def _prepared(self, articles: list[Article]) -> Iterator[_Prepared | None]:
        """Preparations for a batch: None (done inline) for small batches,
        else computed by the worker pool, consumed in order as they finish."""
        if self.workers < 2 or len(articles) < PARALLEL_MIN_BATCH:
            return iter([None] * len(articles))
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            # fork: workers only run _prepare (pure), never this process's
            # connection; spawn would re-import an unguarded __main__ script
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            # workers at a lower priority: the writer (the bottleneck) keeps its
            # core, they use what it leaves
            nice = getattr(os, "nice", None)  # POSIX only
            self._pool = ProcessPoolExecutor(self.workers, initializer=nice,
                                             initargs=(WORKER_NICENESS,) if nice else (),
                                             mp_context=multiprocessing.get_context(method))
        # one task per worker: each task is a wake-up of the pool's threads in
        # this process, taking the GIL from the writer between its SQLite
        # steps (bench_store.py at 40,000 articles, runs alternated, in
        # articles/s: 8 tasks per worker 1,414-1,434, 4: 1,492, 2: 1,473-1,502,
        # 1: 1,524-1,539)
        chunk = max(1, -(-len(articles) // self.workers))
        return _from_pool(self._pool.map(_prepare_row, articles, chunksize=chunk))

    def record_fetch(self, fetch: FetchRow) -> None:
        """Record a fetch that stored no article (an error, a 304...)."""
        try:
            with self.transaction() as conn:
                _insert_fetch(conn, fetch, fetch.outcome or "error")
        except sqlite3.Error as exc:
            raise StoreError(f"could not record fetch: {exc}") from exc

    def update_source(self, name: str, kind: str | None = None, url: str | None = None, *,
                      ok: bool = True, error: str | None = None,
                      state: Mapping[str, Any] | None = None, now: str | None = None) -> None:
        """Record a run of a source: last_run, and last_ok or last_error;
        ``state`` (feed validators, last entry date...) replaces the stored
        state when given."""
        now = now or utcnow()
        state_json = json.dumps(state, ensure_ascii=False) if state is not None else None
        sql = """INSERT INTO sources (name, kind, url, last_run, last_ok, last_error, state)
                 VALUES (:name, :kind, :url, :now, :ok_at, :error, :state)
                 ON CONFLICT(name) DO UPDATE SET
                   kind = coalesce(:kind, kind), url = coalesce(:url, url), last_run = :now,
                   last_ok = coalesce(:ok_at, last_ok),
                   last_error = CASE WHEN :ok THEN NULL ELSE :error END,
                   state = coalesce(:state, state)"""
        params = dict(name=name, kind=kind, url=url, now=now, ok=ok, ok_at=now if ok else None,
                      error=None if ok else (error or "failed"), state=state_json)
        try:
            with self.transaction() as conn:
                conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"could not update source {name}: {exc}") from exc

    # ---- lookups used while scraping -------------------------------------
    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(etag, last_modified) of the latest successful fetch of url, for a
        conditional request; (None, None) if there is none."""
        row = self.conn.execute(
            "SELECT etag, last_modified FROM fetches WHERE url = ? AND outcome != 'error' "
            "AND (etag IS NOT NULL OR last_modified IS NOT NULL) ORDER BY id DESC LIMIT 1",
            (url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def has_url(self, url: str) -> bool:
        """Whether an article with this (normalised) URL is stored."""
        return self.conn.execute("SELECT 1 FROM articles WHERE norm_url = ?",
                                 (normalize_url(url),)).fetchone() is not None

    def template_keys(self, site: str, min_pages: int = TEMPLATE_MIN_PAGES) -> frozenset[str]:
        """paragraph_key()s seen on at least ``min_pages`` distinct pages of a
        site. ``site``: a URL or domain of the site (or its site name); pass
        the result to ``scraper.cleaner.clean(..., template_keys=...)``."""
        keys = _site_keys(self.conn, site)
        sites = ", ".join("?" * len(keys))
        # the tables, not the site_paragraphs view: SQLite would scan it whole
        rows = self.conn.execute(
            f"SELECT key FROM (SELECT key, pages FROM site_paragraphs_main WHERE site IN ({sites}) "
            f"UNION ALL SELECT key, pages FROM site_paragraphs_recent WHERE site IN ({sites})) "
            "GROUP BY key HAVING sum(pages) >= ?", (*keys, *keys, min_pages))
        return frozenset(r[0] for r in rows)

    def similar(self, text: str) -> list[tuple[int, float]]:
        """Stored articles whose text is a near-duplicate of ``text``, as
        (id, estimated similarity), most similar first: at most CANDIDATES
        of them, those sharing the most band keys with it. An indexed
        lookup: its cost grows neither with the number of stored articles
        nor with the number of copies a story has."""
        sig, bands = _sketch(_normalized_paragraphs(text))
        if sig is None:
            return []
        found = [(art_id, sketch.similarity(sig, sketch.from_blob(blob))) for art_id, blob, _story
                 in _candidates(_Batch(self.conn), bands, None)]
        return sorted((c for c in found if c[1] >= sketch.THRESHOLD), key=lambda c: -c[1])

    def source_state(self, name: str) -> dict[str, Any] | None:
        """The stored row of a source (state parsed from JSON), or None."""
        row = _dict_rows(self.conn.execute("SELECT * FROM sources WHERE name = ?", (name,)))
        row = next(row, None)
        if row is not None:
            row["state"] = json.loads(row["state"]) if row["state"] else {}
        return row

    # ---- reading ---------------------------------------------------------
    def get(self, url_or_id: str | int) -> dict[str, Any] | None:
        """One record by row id or URL (requested, final or canonical)."""
        key = str(url_or_id).strip()
        if key.isdigit():
            rows = self.conn.execute("SELECT * FROM articles WHERE id = ?", (int(key),))
        else:
            rows = self.conn.execute(
                "SELECT * FROM articles WHERE norm_url = ? UNION ALL SELECT * FROM articles "
                "WHERE final_url = ? OR canonical_url = ? LIMIT 1", (normalize_url(key), key, key))
        return next(map(_record, _dict_rows(rows)), None)

    def search(self, query: str, *, site: str | None = None, language: str | None = None,
               since: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search, best match first, each hit with a snippet.
        The user's words are quoted (no FTS syntax is interpreted), so any
        input gives results or a StoreError, never an injection."""
        from .read import search
        return search(self.conn, query, site=site, language=language, since=since, limit=limit)

    def query(self, sql: str, params: Mapping[str, Any] | None = None
              ) -> tuple[list[str], Iterator[tuple]]:
        """Run one read-only SQL statement with bound parameters: (columns,
        rows). Any write is refused with ReadOnlyQuery."""
        from .read import query
        return query(self.conn, sql, params or {})

    def export(self, *, since: str | None = None, site: str | None = None,
               language: str | None = None) -> Iterator[dict[str, Any]]:
        """Stream matching records (oldest first) as dicts."""
        from .read import export
        return export(self.conn, since=since, site=site, language=language)

    def stats(self) -> dict[str, Any]:
        """Counts by site, language, original_source and fetch outcome."""
        from .read import stats
        return stats(self.conn, self.path)

    def copies(self, url_or_id: str | int) -> list[dict[str, Any]]:
        """The near-duplicate copies (same story) of an article, the original
        first then by date, each with is_original. StoreError if unknown."""
        from .read import copies
        record = self.get(url_or_id)
        if record is None:
            raise StoreError(f"no article {url_or_id}")
        return copies(self.conn, record)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _from_pool(results: Iterator[_Prepared]) -> Iterator[_Prepared]:
    from concurrent.futures import BrokenExecutor
    try:
        for prep in results:
            yield prep
    except BrokenExecutor as exc:
        raise StoreError(f"a worker process failed: {exc}") from exc


def _uri_path(path: str) -> str:
    from urllib.parse import quote
    return quote(os.path.abspath(path))


def _dict_rows(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return (dict(zip(names, row)) for row in cursor)


def _record(row: dict[str, Any]) -> dict[str, Any]:
    for name in _JSON_FIELDS:
        if isinstance(row.get(name), str):
            row[name] = json.loads(row[name])
    return row


def _site_keys(conn: sqlite3.Connection, site: str) -> list[str]:
    """The template-memory keys a site is known under: its domain, or the
    domains stored for a site name."""
    site = site.strip()
    domain = domain_of(site) if "://" in site else site.lower().removeprefix("www.")
    names = [domain] if domain else []
    names += [r[0] for r in conn.execute(
        "SELECT DISTINCT domain FROM articles WHERE site = ? AND domain IS NOT NULL", (site,))]
    return names or [site]


# ---- one save, inside the caller's transaction ----------------------------
class _Batch:
    """Rows of one save transaction that nothing in it reads back, written
    together by flush() before the commit: fetch rows, template count
    changes (summed per paragraph) and near-duplicate band keys, sorted so
    the inserts walk each index once in order instead of at random. The
    band keys not yet written are also indexed here, so a copy saved later
    in the same batch still finds them. ``recent``: the writer's running
    estimate of the *_recent tables' row counts (see _merge_recent), kept
    from batch to batch."""

    def __init__(self, conn: sqlite3.Connection, recent: dict[str, int] | None = None,
                 known: BandFilter | None = None):
        self.conn = conn
        self.recent = {} if recent is None else recent
        self.known = known   # a filter of the stored band keys, if the writer holds one
        self.fetches: list[tuple] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.bands: dict[int, tuple[int, ...]] = {}     # article id -> its new band keys
        self.band_index: dict[int, tuple[int, ...]] = {}  # band key -> ids (unwritten)
        self.stored: dict[int, list[int]] = {}   # band key -> ids (prefetched)
        self.prefetched: set[int] = set()        # the keys prefetched
        self.next_id: int | None = None

    def prefetch(self, keys: Iterable[int]) -> None:
        """Read the stored articles of these band keys at once, in key
        order: one walk along the band index instead of a probe at a random
        place of it per key (at 100,000 articles each probe is a page the
        cache rarely holds). _candidates then looks them up here."""
        wanted = sorted(set(keys))
        if wanted:
            self.stored, self.prefetched = self.stored_ids(wanted), set(wanted)

    def stored_ids(self, keys: list[int]) -> dict[int, list[int]]:
        """_stored_band_ids of these (sorted) keys, those the filter rules
        out not looked up."""
        if self.known is not None:
            keys = self.known.maybe(keys)
        return _stored_band_ids(self.conn, keys) if keys else {}

    def forget_bands(self, art_id: int, keys: Iterable[int]) -> None:
        """An article's stored band keys were deleted (its text changed)."""
        if self.prefetched:
            for key in keys:
                ids = self.stored.get(key)
                if ids and art_id in ids:
                    ids.remove(art_id)

    def new_id(self) -> int:
        if self.next_id is None:  # the transaction is the only writer (BEGIN IMMEDIATE)
            self.next_id = self.conn.execute(
                "SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()[0]
        self.next_id += 1
        return self.next_id - 1

    def set_bands(self, art_id: int, bands: tuple[int, ...]) -> None:
        self.bands[art_id] = bands
        index = self.band_index
        if index.keys().isdisjoint(bands):  # the usual case: no key shared in the batch
            index.update(zip(bands, itertools.repeat((art_id,))))
        else:
            for key in bands:
                ids = index.get(key, ())
                if len(ids) < BAND_ROWS:
                    index[key] = (*ids, art_id)

    def batch_ids(self, keys) -> list[int]:
        """Ids of the articles of this batch with one of these band keys,
        once per key shared."""
        index = self.band_index
        return [i for key in index.keys() & set(keys) for i in index[key]]

    def flush(self) -> None:
        conn = self.conn
        conn.executemany(_INSERT_FETCH, self.fetches)
        counts = sorted((site, key, d) for (site, key), d in self.counts.items() if d)
        conn.executemany("INSERT INTO site_paragraphs_recent (site, key, pages) VALUES (?, ?, ?) "
                         "ON CONFLICT(site, key) DO UPDATE SET pages = pages + excluded.pages",
                         counts)
        bands = sorted((k, art_id) for art_id, keys in self.bands.items() for k in keys)
        conn.executemany("INSERT OR IGNORE INTO minhash_bands_recent (key, article_id) VALUES (?, ?)",
                         bands)
        if self.known is not None:
            self.known.add([key for key, _ in bands])
        _merge_recent(conn, self.recent, {"minhash_bands_recent": len(bands),
                                          "site_paragraphs_recent": len(counts)})
        self.__init__(conn, self.recent, self.known)


def _merge_recent(conn: sqlite3.Connection, recent: dict[str, int], added: dict[str, int]) -> None:
    """Move the *_recent rows into *_main (schema v5) once a table holds
    RECENT_ROWS of them. Both are read in key order, so the merge walks each
    big index once instead of at random; template counts are summed and a
    paragraph no page has any more is dropped. The rows are counted (a scan
    of up to RECENT_ROWS) only on a writer's first batch and when its
    estimate, that count plus the rows it wrote since, reaches RECENT_ROWS;
    rows other writers add only make a merge come later."""
    def full(table: str) -> bool:
        estimate = recent.get(table)
        if estimate is not None and estimate + added[table] < RECENT_ROWS:
            recent[table] = estimate + added[table]
            return False
        recent[table] = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?)",
                                     (RECENT_ROWS,)).fetchone()[0]
        if recent[table] < RECENT_ROWS:
            return False
        recent[table] = 0  # merged below
        return True
    if full("minhash_bands_recent"):
        conn.execute("INSERT OR IGNORE INTO minhash_bands_main (key, article_id) "
                     "SELECT key, article_id FROM minhash_bands_recent")
        conn.execute("DELETE FROM minhash_bands_recent")
    if full("site_paragraphs_recent"):
        conn.execute("INSERT INTO site_paragraphs_main (site, key, pages) SELECT site, key, pages "
                     "FROM site_paragraphs_recent WHERE true "
                     "ON CONFLICT(site, key) DO UPDATE SET pages = pages + excluded.pages")
        conn.execute("DELETE FROM site_paragraphs_main WHERE pages <= 0 AND (site, key) IN "
                     "(SELECT site, key FROM site_paragraphs_recent WHERE pages < 0)")
        conn.execute("DELETE FROM site_paragraphs_recent")


def _fetch_values(fetch: FetchRow, outcome: str) -> tuple:
    return (fetch.url, fetch.status, outcome, fetch.error, fetch.etag, fetch.last_modified,
            fetch.bytes, fetch.elapsed, fetch.fetched_at)


def _insert_fetch(conn: sqlite3.Connection, fetch: FetchRow, outcome: str) -> None:
    conn.execute(_INSERT_FETCH, _fetch_values(fetch, outcome))


@dataclass(frozen=True)
class _Prepared:
    """What save() derives from an article's text (pure: may run in a worker)."""
    site: str | None
    para_keys: tuple[str, ...]
    signature: Any          # array | None
    bands: tuple[int, ...] = ()
    norm: str | None = None     # with the pool: normalised URL, content hash and the
    chash: str | None = None    # article's column values, also worked out in the worker
    values: tuple = ()


def _normalized_paragraphs(text: str) -> list[str]:
    """normalize_text of each paragraph, the text folded once (equal, as
    fold works character by character)."""
    return [" ".join(words(p)) for p in fold(text).split("\n\n")]


def _sketch(paragraphs: list[str]) -> tuple[Any, tuple[int, ...]]:
    """MinHash signature (array | None) of a text's normalised paragraphs,
    and its band keys."""
    sig = sketch.signature(" ".join(paragraphs))
    return sig, (tuple(sketch.band_keys(sig)) if sig is not None else ())


def _prepare(article: Article) -> _Prepared:
    """Template-memory keys and MinHash signature of an article's text."""
    # fold the whole text once; paragraph_key(p) == sha1(normalize_text(p))[:16]
    body = _normalized_paragraphs(article.text)
    template = [normalize_text(r.text) for r in article.removed if r.rule == "template"]
    keys = {hashlib.sha1(n.encode("utf-8")).hexdigest()[:16] for n in body + template if n}
    site = domain_of(article.url) or article.domain or article.site
    sig, bands = _sketch(body)
    return _Prepared(site, tuple(sorted(keys)), sig, bands)


def _prepare_row(article: Article) -> _Prepared:
    """_prepare plus what the writer would otherwise compute itself (run by
    the worker pool, to keep the writing process free for SQLite)."""
    prep = _prepare(article)
    url = article.url or article.final_url or article.canonical_url
    try:
        norm = normalize_url(url) if url else None
    except ValueError:
        norm = None   # the writer reports it
    if norm is None:
        return prep
    chash = article.content_hash or content_hash(article.text)
    return replace(prep, norm=norm, chash=chash, values=tuple(_article_values(article, chash)))


def _save_one(batch: _Batch, article: Article, fetch: FetchRow | None,
              now: str, prep: _Prepared | None = None) -> SaveResult:
    if prep is not None and prep.norm is not None:
        norm, chash = prep.norm, prep.chash
    else:
        url = article.url or article.final_url or article.canonical_url
        if not url:
            raise StoreError("an article needs a url to be stored")
        norm = normalize_url(url)
        chash = article.content_hash or content_hash(article.text)
    row = batch.conn.execute("SELECT id, content_hash, story_id FROM articles WHERE norm_url = ?",
                             (norm,)).fetchone()
    if row and row[1] == chash:
        status, art_id, story = "unchanged", row[0], row[2]
    else:
        status = "updated" if row else "new"
        art_id, story = _write_article(batch, row, norm, article, chash, now, prep)
    if fetch is not None:
        batch.fetches.append(_fetch_values(fetch, fetch.outcome or status))
    return SaveResult(art_id, status, story)


def _write_article(batch, row, norm, article, chash, now, prep) -> tuple[int, int]:
    conn = batch.conn
    prep = prep or _prepare(article)
    art_id = row[0] if row else batch.new_id()
    old = _old_sketch(conn, art_id) if row else None
    if row and row[2] == art_id:  # a story is named after its oldest copy (its smallest id):
        _rename_story(conn, art_id)   # this one leaves it, the next oldest names it
    story = _find_story(batch, art_id, prep)
    if story > art_id:  # a changed page joins a story of newer copies: it names it now
        conn.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (art_id, story))
        story = art_id
    values = prep.values or _article_values(article, chash)
    if row:
        conn.execute(_UPDATE_ARTICLE, (*values, now, story, art_id))
    else:  # indexed for full text at the end of the batch (see save_many)
        conn.execute(f"INSERT INTO {FTS_PENDING} (id) VALUES (?)", (art_id,))
        conn.execute(_INSERT_ARTICLE, (art_id, norm, *values, now, now, story))
    _store_sketch(batch, art_id, prep, old)
    return art_id, story


def _rename_story(conn: sqlite3.Connection, art_id: int) -> None:
    """The other copies of the story named after ``art_id`` take the
    smallest id among them as its name."""
    conn.execute("UPDATE articles SET story_id = (SELECT min(id) FROM articles WHERE story_id = ?1 "
                 "AND id != ?1) WHERE story_id = ?1 AND id != ?1", (art_id,))


def _article_values(article: Article, chash: str) -> list[Any]:
    """Column values in ARTICLE_FIELDS order (Article.to_dict without its
    deep copy, which costs more than the insert)."""
    record = {f: getattr(article, f) for f in ARTICLE_FIELDS}
    record["content_hash"] = chash
    record["authors"] = json.dumps(list(article.authors), ensure_ascii=False)
    record["removed"] = json.dumps([{"text": r.text, "rule": r.rule} for r in article.removed],
                                   ensure_ascii=False)
    return [record[f] for f in ARTICLE_FIELDS]


def _old_sketch(conn: sqlite3.Connection, art_id: int) -> _Prepared | None:
    row = conn.execute("SELECT site, para_keys, signature FROM article_sketches "
                       "WHERE article_id = ?", (art_id,)).fetchone()
    if row is None:
        return None
    sig = sketch.from_blob(row[2]) if row[2] else None
    bands = tuple(sketch.band_keys(sig)) if sig is not None else ()
    return _Prepared(row[0], tuple(json.loads(row[1])), sig, bands)


def _store_sketch(batch: _Batch, art_id: int, new: _Prepared, old: _Prepared | None) -> None:
    """Adjust the site's paragraph page counts by the difference between the
    page's old and new paragraphs, and replace its band keys (the counts and
    new keys are written by batch.flush)."""
    old_keys = set(old.para_keys) if old and old.site == new.site else set()
    if old and old.site != new.site:
        _count(batch, old.site, old.para_keys, -1)
    _count(batch, new.site, [k for k in new.para_keys if k not in old_keys], +1)
    _count(batch, new.site, [k for k in old_keys if k not in set(new.para_keys)], -1)
    if old:
        for table in ("minhash_bands_main", "minhash_bands_recent"):
            batch.conn.executemany(f"DELETE FROM {table} WHERE key = ? AND article_id = ?",
                                   [(k, art_id) for k in old.bands])
        batch.forget_bands(art_id, old.bands)
    blob = sketch.to_blob(new.signature) if new.signature is not None else None
    batch.conn.execute("INSERT OR REPLACE INTO article_sketches (article_id, site, para_keys, "
                       "signature) VALUES (?, ?, ?, ?)",
                       (art_id, new.site, json.dumps(new.para_keys), blob))
    batch.set_bands(art_id, new.bands)


def _count(batch: _Batch, site: str | None, keys: Iterable[str], delta: int) -> None:
    if site:
        for key in keys:
            batch.counts[site, key] += delta


def _find_story(batch: _Batch, art_id: int, prep: _Prepared) -> int:
    """The story of a new or changed text: the smallest story id among the
    confirmed near-duplicates (stories bridged by this text are merged), or
    the article's own id. A story is confirmed by its first candidate that
    passes; its other candidates are not compared (copies of one story are
    usually many, and all would say the same)."""
    if prep.signature is None:
        return art_id
    stories: set[int] = set()
    for _, blob, story in _candidates(batch, prep.bands, art_id):
        if story not in stories and sketch.similarity(prep.signature,
                                                      sketch.from_blob(blob)) >= sketch.THRESHOLD:
            stories.add(story)
    if not stories:
        return art_id
    story = min(stories)
    others = [s for s in stories if s != story]
    if others:
        batch.conn.execute(f"UPDATE articles SET story_id = ? WHERE story_id IN "
                     f"({', '.join('?' * len(others))})", (story, *others))
    return story


def _stored_band_ids(conn: sqlite3.Connection, keys: list[int]) -> dict[int, list[int]]:
    """The stored articles with each of these band keys (sorted): the
    BAND_ROWS smallest ids (the oldest) per key. A text's keys: one LIMIT
    per key, so a key shared by thousands of copies reads no more. A
    batch's keys: a window query over up to SQL_PARAMS of them, one walk
    along the index in key order (a compound of hundreds of LIMITs costs
    ten times more; needs SQLite 3.25, else a text's worth at a time)."""
    found: dict[int, list[int]] = {}
    if len(keys) > sketch.BANDS and sqlite3.sqlite_version_info >= (3, 25):
        step = SQL_PARAMS - 1
        def statement(part: list[int]) -> tuple[str, list[int]]:
            return ("SELECT key, article_id FROM (SELECT key, article_id, row_number() OVER "
                    "(PARTITION BY key ORDER BY article_id) AS n FROM minhash_bands WHERE key IN "
                    f"({', '.join('?' * len(part))})) WHERE n <= ?", [*part, BAND_ROWS])
    else:
        step = sketch.BANDS
        one = ("SELECT key, article_id FROM (SELECT key, article_id FROM minhash_bands "
               "WHERE key = ? ORDER BY article_id LIMIT ?)")
        def statement(part: list[int]) -> tuple[str, list[int]]:
            return " UNION ALL ".join([one] * len(part)), [v for k in part for v in (k, BAND_ROWS)]
    for lo in range(0, len(keys), step):
        for key, art_id in conn.execute(*statement(keys[lo:lo + step])):
            found.setdefault(key, []).append(art_id)
    return found


def _candidates(batch: _Batch, keys, exclude: int | None):
    """(id, signature blob, story_id) of the articles sharing a band key,
    stored (prefetched by the batch, else looked up) or saved earlier in the
    batch: the CANDIDATES sharing the most keys, the oldest first on a tie."""
    stored = batch.stored if batch.prefetched.issuperset(keys) else \
        batch.stored_ids(sorted(set(keys)))
    shared = Counter(i for key in keys for i in stored.get(key, ()))
    shared.update(batch.batch_ids(keys))
    shared.pop(exclude, None)
    if not shared:  # the usual case: only then read the sketches
        return []
    ids = sorted(shared, key=lambda i: (-shared[i], i))[:CANDIDATES]
    rows = batch.conn.execute(
        "SELECT s.article_id, s.signature, a.story_id FROM article_sketches s "
        f"JOIN articles a ON a.id = s.article_id WHERE s.article_id IN ({', '.join('?' * len(ids))})",
        ids)
    return [row for row in rows if row[1]]


def backfill_sketches(conn: sqlite3.Connection) -> None:
    """Fill template counts, sketches and story ids for articles stored
    before schema v3 (the ones with no sketch row), oldest first."""
    batch = _Batch(conn)
    rows = conn.execute("SELECT id, url, domain, site, text, removed FROM articles WHERE id NOT IN "
                        "(SELECT article_id FROM article_sketches) ORDER BY id")
    for art_id, url, domain, site, text, removed in rows.fetchall():
        from ..models import Removed
        rem = tuple(Removed(r["text"], r["rule"]) for r in json.loads(removed or "[]"))
        prep = _prepare(Article(url=url, text=text or "", domain=domain, site=site, removed=rem))
        story = _find_story(batch, art_id, prep)
        conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story, art_id))
        _store_sketch(batch, art_id, prep, None)
    batch.flush()


def rehash_sketches(conn: sqlite3.Connection, chunk: int = 5000) -> None:
    """Recompute every stored MinHash signature and its band keys with the
    current sketch.signature (schema v6 changed the shingle hash: a copy
    would no longer find the articles sketched by the old one). Stories
    found so far are kept. Inside the caller's transaction."""
    for table in ("minhash_bands_main", "minhash_bands_recent"):
        conn.execute(f"DELETE FROM {table}")
    rows = conn.execute("SELECT s.article_id, a.text FROM article_sketches s "
                        "JOIN articles a ON a.id = s.article_id ORDER BY s.article_id").fetchall()
    for lo in range(0, len(rows), chunk):
        sketches, bands = [], []
        for art_id, text in rows[lo:lo + chunk]:
            sig, keys = _sketch(_normalized_paragraphs(text or ""))
            sketches.append((sketch.to_blob(sig) if sig is not None else None, art_id))
            bands += ((key, art_id) for key in keys)
        conn.executemany("UPDATE article_sketches SET signature = ? WHERE article_id = ?", sketches)
        conn.executemany("INSERT OR IGNORE INTO minhash_bands_main (key, article_id) VALUES (?, ?)",
                         sorted(bands))
