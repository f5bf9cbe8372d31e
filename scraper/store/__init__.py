"""The SQLite store (the only code importing sqlite_utils, and only when a
file is created or migrated).

    from scraper.store import Store
    with Store("scraper.db") as store:
        keys = store.template_keys(url)            # site template memory
        article = clean(html, url, template_keys=keys)
        result = store.save(article, FetchRow.from_page(page))   # one transaction
    with Store.open_readonly("scraper.db") as store:
        store.search("aleppo gamble"); store.copies(url); store.query(sql, {"x": 1})

Tables: articles (record fields + id, norm_url, first_seen, updated_at,
story_id), articles_fts (FTS5, trigger-synced), fetches, sources,
site_paragraphs (template memory), article_sketches + minhash_bands
(near-duplicate index). Schema version in PRAGMA user_version.
"""
from __future__ import annotations

from ..models import FetchRow
from .core import BUSY_TIMEOUT_MS, TEMPLATE_MIN_PAGES, SaveResult, Store
from .schema import SCHEMA_VERSION
from .web import datasette_metadata

__all__ = ["Store", "SaveResult", "FetchRow", "SCHEMA_VERSION", "BUSY_TIMEOUT_MS",
           "TEMPLATE_MIN_PAGES", "datasette_metadata"]
