"""Read side of the store: search, read-only query, export, stats, copies.
Each function takes an open connection (normally a read-only one)."""
from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import ReadOnlyQuery, StoreError
from ..models import ARTICLE_FIELDS
from ..textkeys import squash

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ][0-9:.+\-Z]*)?)?)?$")
_WORD = re.compile(r"\w", re.UNICODE)
RECORD_FIELDS = ("id", *ARTICLE_FIELDS, "story_id", "first_seen", "updated_at")
SEARCH_FIELDS = ("id", "url", "title", "site", "language", "published", "original_source",
                 "snippet", "rank")

_WRITE_ACTIONS = frozenset(getattr(sqlite3, name) for name in (
    "SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE", "SQLITE_CREATE_INDEX", "SQLITE_CREATE_TABLE",
    "SQLITE_CREATE_TEMP_INDEX", "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_TEMP_TRIGGER",
    "SQLITE_CREATE_TEMP_VIEW", "SQLITE_CREATE_TRIGGER", "SQLITE_CREATE_VIEW", "SQLITE_DROP_INDEX",
    "SQLITE_DROP_TABLE", "SQLITE_DROP_TEMP_INDEX", "SQLITE_DROP_TEMP_TABLE",
    "SQLITE_DROP_TEMP_TRIGGER", "SQLITE_DROP_TEMP_VIEW", "SQLITE_DROP_TRIGGER", "SQLITE_DROP_VIEW",
    "SQLITE_ALTER_TABLE", "SQLITE_REINDEX", "SQLITE_ANALYZE", "SQLITE_CREATE_VTABLE",
    "SQLITE_DROP_VTABLE", "SQLITE_ATTACH", "SQLITE_DETACH"))
_READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "collation_list", "function_list", "pragma_list", "module_list", "table_list"})


def check_date(value: str | None) -> str | None:
    """A --since value: an ISO date (or datetime, or year / year-month)."""
    if value is not None and not _DATE.match(value.strip()):
        raise StoreError(f"not a date: {value!r} (use YYYY-MM-DD)")
    return value.strip() if value else None


def fts_query(text: str) -> str:
    """Turn a user's words into a safe FTS5 query: every word becomes a
    quoted string (AND-ed); a trailing * keeps prefix search. No FTS5
    syntax (OR, NEAR, column filters, parentheses) is interpreted."""
    terms = []
    for token in text.split():
        prefix = token.endswith("*")
        token = token.replace('"', "").rstrip("*")
        if _WORD.search(token):
            terms.append(f'"{token}"' + ("*" if prefix else ""))
    if not terms:
        raise StoreError("search needs at least one word")
    return " ".join(terms)


def _filters(site, language, since) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if site:
        clauses.append("(a.site = :site OR a.domain = :site)")
        params["site"] = site
    if language:
        clauses.append("a.language = :language")
        params["language"] = language
    if since:
        clauses.append("coalesce(a.published, a.fetched_at) >= :since")
        params["since"] = check_date(since)
    return "".join(f" AND {c}" for c in clauses), params


def search(conn: sqlite3.Connection, text: str, *, site=None, language=None, since=None,
           limit: int = 20) -> list[dict[str, Any]]:
    """Best matches first (bm25), each with a snippet: the top ``limit``
    hits are ranked first, snippets are made for those only."""
    where, params = _filters(site, language, since)
    params.update(q=fts_query(text), limit=max(1, int(limit)))
    join = "JOIN articles a ON a.id = articles_fts.rowid" if where else ""
    sql = f"""WITH hits AS (
      SELECT articles_fts.rowid AS id, articles_fts.rank AS rank FROM articles_fts {join}
      WHERE articles_fts MATCH :q{where} ORDER BY articles_fts.rank LIMIT :limit)
    SELECT a.id, a.url, a.title, a.site, a.language, a.published, a.original_source,
      snippet(articles_fts, 1, '[', ']', '…', 16) AS snippet, hits.rank AS rank
    FROM hits JOIN articles_fts ON articles_fts.rowid = hits.id
    JOIN articles a ON a.id = hits.id
    WHERE articles_fts MATCH :q ORDER BY hits.rank"""
    try:
        rows = conn.execute(sql, params)
        return [dict(zip(SEARCH_FIELDS, row)) for row in rows]
    except sqlite3.Error as exc:
        raise StoreError(f"search failed: {exc}") from exc


def query(conn: sqlite3.Connection, sql: str, params: Mapping[str, Any]
          ) -> tuple[list[str], Iterator[tuple]]:
    """One statement, parameters bound by name, writes refused (an
    authorizer on top of the read-only connection)."""
    denied: list[str] = []

    def authorize(action, arg1, arg2, _db, _source):
        if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
            return sqlite3.SQLITE_OK  # FTS5 connecting its table (never a user write: read-only)
        if action in _WRITE_ACTIONS or (action == sqlite3.SQLITE_PRAGMA and arg2 is not None
                                        and (arg1 or "").lower() not in _READ_PRAGMAS):
            denied.append(arg1 or "")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorize)
    try:
        cursor = conn.execute(sql, dict(params))
    except (sqlite3.Error, sqlite3.Warning, ValueError, OverflowError) as exc:
        if denied or "readonly" in str(exc) or "query_only" in str(exc):
            raise ReadOnlyQuery("query is read-only: write statements are refused") from exc
        raise StoreError(f"query failed: {exc}") from exc
    finally:
        conn.set_authorizer(None)
    columns = [d[0] for d in cursor.description or ()]
    return columns, _guarded(cursor)


def _guarded(cursor: sqlite3.Cursor) -> Iterator[tuple]:
    try:
        for row in cursor:  # not `yield from`: closing us must not close the cursor
            yield row
    except sqlite3.Error as exc:
        raise StoreError(f"query failed: {exc}") from exc


def export(conn: sqlite3.Connection, *, since=None, site=None, language=None
           ) -> Iterator[dict[str, Any]]:
    """Stream records in id order, lists parsed from JSON."""
    where, params = _filters(site, language, since)
    cursor = conn.execute(f"SELECT {', '.join(RECORD_FIELDS)} FROM articles a "
                          f"WHERE 1{where} ORDER BY a.id", params)
    for row in _guarded(cursor):
        yield to_record(row)


def to_record(row: tuple) -> dict[str, Any]:
    record = dict(zip(RECORD_FIELDS, row))
    for name in ("authors", "removed"):
        if isinstance(record[name], str):
            record[name] = json.loads(record[name])
    return record


def _grouped(conn: sqlite3.Connection, column: str, table: str = "articles", top: int = 20):
    rows = conn.execute(f"SELECT {column}, count(*) AS n FROM {table} GROUP BY {column} "
                        "ORDER BY n DESC, 1 LIMIT ?", (top,))
    return [{"value": value, "count": n} for value, n in rows]


def stats(conn: sqlite3.Connection, path: str) -> dict[str, Any]:
    """Counts for the stats command."""
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "articles": one("SELECT count(*) FROM articles"),
        "stories_with_copies": one("SELECT count(*) FROM (SELECT story_id FROM articles "
                                   "GROUP BY story_id HAVING count(*) > 1)"),
        "fetches": one("SELECT count(*) FROM fetches"),
        "last_fetch": one("SELECT max(fetched_at) FROM fetches"),
        "sources": one("SELECT count(*) FROM sources"),
        "file_bytes": os.path.getsize(path) if os.path.exists(path) else None,
        "by_site": _grouped(conn, "site"),
        "by_language": _grouped(conn, "language"),
        "by_original_source": _grouped(conn, "original_source"),
        "fetch_outcomes": _grouped(conn, "outcome", "fetches"),
    }


def _outlet(name: str | None) -> set[str]:
    """Comparable spellings of an outlet name or domain ('CounterPunch',
    'counterpunch.org' -> 'counterpunch')."""
    if not name:
        return set()
    low = name.casefold().removeprefix("www.")
    forms = {low, low.rsplit(".", 1)[0]} if "." in low else {low}
    return {squash(f) for f in forms} - {""}


def copies(conn: sqlite3.Connection, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Members of the record's story. The original is the member whose site
    another copy names as original_source, else the earliest published."""
    cursor = conn.execute(
        "SELECT id, url, site, domain, language, published, original_source, title FROM articles "
        "WHERE story_id = ? ORDER BY coalesce(published, '9999'), id",
        (record.get("story_id") or record["id"],))
    names = [d[0] for d in cursor.description]
    members = [dict(zip(names, row)) for row in cursor]
    original = _original(members)
    for m in members:
        m["is_original"] = m["id"] == original
    members.sort(key=lambda m: not m["is_original"])
    return members


def _original(members: list[dict[str, Any]]) -> int | None:
    for m in members:
        mine = _outlet(m["site"]) | _outlet(m["domain"])
        if any(o["id"] != m["id"] and mine & _outlet(o["original_source"]) for o in members):
            return m["id"]
    return members[0]["id"] if members else None
