"""Search terms and query parameters cannot inject; query cannot write."""
import sqlite3

import pytest
from store_helpers import make_article

from scraper.errors import ReadOnlyQuery, StoreError
from scraper.store import Store

ATTACKS = ['x"; DROP TABLE articles;--', "' OR 1=1--", '"unbalanced', "NEAR(", "*", "NEAR(a b",
           "title:foo", "a OR b", "-x", "^start", '"" AND ""', "((", "ç'est \"là\""]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "t.db"
    with Store(path) as store:
        for i in range(20):
            store.save(make_article(i))
    return path


def _counts(path):
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "fetches", "site_paragraphs", "minhash_bands")]
    finally:
        conn.close()


@pytest.mark.parametrize("attack", ATTACKS)
def test_search_attacks_give_results_or_clear_error(db, attack):
    before = _counts(db)
    with Store.open_readonly(db) as store:
        try:
            hits = store.search(attack)
        except StoreError as exc:
            assert "\n" not in str(exc)
        else:
            assert isinstance(hits, list)
        for field in ("site", "language", "since"):
            try:
                store.search("the", **{field: attack})
            except StoreError as exc:
                assert "not a date" in str(exc)
    assert _counts(db) == before


def test_search_words_are_literal(db):
    with Store.open_readonly(db) as store:
        word = store.get(1)["text"].split()[3].strip(".").lower()
        assert store.search(f'{word}"; DROP') == []  # quote dropped, words AND-ed, no "drop"
        hits = store.search(f'"{word}')
        assert hits and all(f"[{word}]" in h["snippet"].lower() for h in hits)
        assert store.search(word[:2] + "*")
        with pytest.raises(StoreError, match="at least one word"):
            store.search('"" * ()')


@pytest.mark.parametrize("sql", [
    "DELETE FROM articles", "DROP TABLE articles", "UPDATE articles SET title = 'x'",
    "INSERT INTO sources (name) VALUES ('x')", "CREATE TABLE t (x)", "PRAGMA user_version = 3",
    "ATTACH DATABASE 'other.db' AS o", "VACUUM", "REINDEX",
    "WITH x AS (SELECT 1) DELETE FROM articles",
])
def test_query_refuses_writes(db, sql):
    before = _counts(db)
    with Store.open_readonly(db) as store:
        with pytest.raises(StoreError) as info:
            store.query(sql, {})
    assert "\n" not in str(info.value)
    assert _counts(db) == before


def test_query_refuses_writes_even_on_a_writable_store(db):
    with Store(db) as store:
        with pytest.raises(ReadOnlyQuery):
            store.query("DELETE FROM articles", {})
        assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 20
        store.save(make_article(100))  # the authorizer is gone afterwards


def test_query_binds_parameters(db):
    before = _counts(db)
    with Store.open_readonly(db) as store:
        cols, rows = store.query("SELECT count(*) AS n FROM articles WHERE title = :t",
                                 {"t": "' OR 1=1--"})
        assert cols == ["n"] and list(rows) == [(0,)]
        _, rows = store.query("SELECT id FROM articles WHERE title = :t", {"t": "Article 3"})
        assert list(rows) == [(4,)]
        _, rows = store.query("SELECT title FROM articles WHERE title = :t",
                              {"t": 'x"; DROP TABLE articles;--'})
        assert list(rows) == []
        for bad, params in [("SELECT 1; DROP TABLE articles", {}), ("SELECT :missing", {}),
                            ("SELEC nonsense", {}), ("SELECT * FROM nosuchtable", {})]:
            with pytest.raises(StoreError):
                store.query(bad, params)
        _, rows = store.query("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :q",
                              {"q": "article"})
        assert list(rows)
        _, rows = store.query("PRAGMA table_info(articles)", {})
        assert len(list(rows)) > 10
    assert _counts(db) == before
