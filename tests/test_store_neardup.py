"""Syndication: near-duplicate copies across sites become one story."""
import pytest
from store_helpers import body, edit, make_article

from scraper.errors import StoreError
from scraper.store import Store
from scraper.store import sketch
from scraper.textkeys import normalize_text


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


def test_small_edits_on_three_sites_are_one_story(store):
    text = body(1, paragraphs=6)
    a = store.save(make_article(1, site="counterpunch.org", text=text, published="2016-02-09"))
    b = store.save(make_article(2, site="mondialisation.ca", text=edit(text, 1), published="2016-02-10",
                                original_source="CounterPunch"))
    c = store.save(make_article(3, site="globalresearch.ca", text=edit(text, 2, changes=6),
                                published="2016-02-08", original_source="CounterPunch"))
    other = store.save(make_article(4, site="mondialisation.ca", text=body(4, paragraphs=6)))
    assert a.story_id == b.story_id == c.story_id == a.id
    assert other.story_id == other.id != a.id
    members = store.copies("https://globalresearch.ca/articles/3")
    assert [m["site"] for m in members][0] == "counterpunch.org"  # named original, not earliest
    assert [m["is_original"] for m in members] == [True, False, False]
    assert len(store.copies(other.id)) == 1


def test_original_defaults_to_earliest_published(store):
    text = body(9, paragraphs=5)
    store.save(make_article(1, site="a.org", text=text, published="2020-03-02"))
    store.save(make_article(2, site="b.org", text=edit(text, 3), published="2020-03-01"))
    members = store.copies(1)
    assert [(m["site"], m["is_original"]) for m in members] == [("b.org", True), ("a.org", False)]


def test_translation_and_short_texts_are_not_copies(store):
    en = store.save(make_article(1, site="a.org", language="en", text=body(5, "en")))
    fr = store.save(make_article(2, site="b.org", language="fr", text=body(5, "fr")))
    s1 = store.save(make_article(3, site="a.org", text="Short note."))
    s2 = store.save(make_article(4, site="b.org", text="Short note."))
    assert en.story_id != fr.story_id
    assert s1.story_id == s1.id and s2.story_id == s2.id


def test_bridging_copy_merges_stories(store):
    text = body(11, paragraphs=6)
    paras = text.split("\n\n")
    first = store.save(make_article(1, site="a.org", text="\n\n".join(paras[:4])))
    second = store.save(make_article(2, site="b.org", text="\n\n".join(paras[3:])))
    assert first.story_id != second.story_id
    whole = store.save(make_article(3, site="c.org", text=text))
    assert whole.story_id in (first.id, second.id)
    stories = {m["id"] for m in store.copies(1)}
    assert {1, 3} <= stories


def test_changed_page_is_relinked(store):
    text = body(21, paragraphs=5)
    store.save(make_article(1, site="a.org", text=text))
    store.save(make_article(2, site="b.org", text=body(22, paragraphs=5)))
    moved = store.save(make_article(2, site="b.org", text=edit(text, 5)))
    assert moved.status == "updated" and moved.story_id == 1
    bands = store.conn.execute("SELECT count(*) FROM minhash_bands WHERE article_id = 2").fetchone()[0]
    assert 0 < bands <= sketch.BANDS  # old band keys replaced, not accumulated


def test_lookup_uses_band_index(store):
    plan = " ".join(r[-1] for r in store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT article_id FROM minhash_bands WHERE key IN (1, 2, 3)"))
    assert "SEARCH" in plan and "PRIMARY KEY" in plan


def test_signature_is_stable_and_estimates_similarity():
    text = normalize_text(body(3, paragraphs=6))
    sig = sketch.signature(text)
    assert sketch.from_blob(sketch.to_blob(sig)) == sig
    assert sketch.similarity(sig, sketch.signature(text)) == 1.0
    assert sketch.similarity(sig, sketch.signature(normalize_text(edit(text, 1)))) > 0.7
    assert sketch.similarity(sig, sketch.signature(normalize_text(body(4, paragraphs=6)))) < 0.2
    assert sketch.signature("too short") is None


def reference_signature(text: str) -> list[int] | None:
    """The signature by its definition, shingle by shingle in plain Python."""
    words = text.encode("utf-8").split()
    if len(words) < sketch.MIN_WORDS:
        return None
    mins: dict[int, int] = {}
    for i in range(len(words) - sketch.SHINGLE + 1):
        h = sketch.shingle_hash(b" ".join(words[i:i + sketch.SHINGLE]))
        mins[h % sketch.BINS] = min(h, mins.get(h % sketch.BINS, h))
    if len(mins) == sketch.BINS:
        return [mins[b] for b in range(sketch.BINS)]
    return sketch._densify(mins)


@pytest.mark.parametrize("text", [
    normalize_text(body(5, paragraphs=6)),
    normalize_text(body(6, "fr", paragraphs=3)) + " élève ñandú ça 東京 über",
    normalize_text(body(7, "es", paragraphs=1, words=30)),     # 28 shingles: bins to densify
    "a b c " * 12,                                                # 3 distinct shingles
    "  spaced\tout\n\nwords " + " and more" * 20 + "  ",        # other separators
    "x " * 29,                                                    # one word too few
])
def test_signature_computed_in_bulk_matches_its_definition(text):
    sig = sketch.signature(text)
    assert (None if sig is None else list(sig)) == reference_signature(text)


def test_shingle_hash_never_changes_without_a_migration():
    # stored signatures and band keys depend on it: a change needs a schema
    # step that recomputes them (see schema._v6)
    assert [sketch.shingle_hash(s) for s in (b"le chat noir", b"a b c", "été".encode())] == \
        SHINGLE_HASHES


SHINGLE_HASHES = [750906742, 334373341, 3410418091]


def test_copies_of_unknown_article(store):
    with pytest.raises(StoreError, match="no article"):
        store.copies("https://nowhere.example/")


@pytest.mark.parametrize("sqlite_version", [None, (3, 24, 0)])
def test_a_story_with_many_copies_costs_a_new_copy_a_bounded_lookup(tmp_path, monkeypatch,
                                                                    sqlite_version):
    """A story republished on many sites: a new copy reads at most
    BAND_ROWS stored articles per band key and confirms at most CANDIDATES
    of them (here 4 and 3, for a story of 40 copies), yet still joins it,
    whether its batch is prepared by workers or not, and on an SQLite
    without window functions (a batch's keys read a text's worth at a time)."""
    from scraper.store import core
    if sqlite_version:
        monkeypatch.setattr(core.sqlite3, "sqlite_version_info", sqlite_version)
    monkeypatch.setattr(core, "BAND_ROWS", 4)
    monkeypatch.setattr(core, "CANDIDATES", 3)
    text = body(5, paragraphs=6)
    stories = []
    for workers in (0, 2):
        with Store(tmp_path / f"w{workers}.db", workers=workers) as store:
            first = store.save_many([(make_article(i, site=f"s{i}.org", text=edit(text, i)), None)
                                     for i in range(40)])
            assert {r.story_id for r in first} == {first[0].id}
            seen = []
            real = core._candidates
            monkeypatch.setattr(core, "_candidates", lambda *a: seen.append(real(*a)) or seen[-1])
            later = store.save_many(
                [(make_article(100 + i, site=f"n{i}.org", text=edit(text, 100 + i)), None)
                 for i in range(70)])
            monkeypatch.setattr(core, "_candidates", real)
            assert {r.story_id for r in later} == {first[0].id}
            assert seen and max(len(rows) for rows in seen) == 3
            assert len(store.similar(edit(text, 999))) == 3
            stories.append([r.story_id for r in later])
    assert stories[0] == stories[1]
