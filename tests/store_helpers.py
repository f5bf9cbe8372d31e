"""Synthetic articles for the store tests (deterministic)."""
from __future__ import annotations

import random
from functools import lru_cache

from scraper.models import Article, FetchRow
from scraper.textkeys import content_hash

SYLLABLES = {
    "en": ["the", "ing", "ter", "on", "and", "ship", "ment", "ble", "ver", "str", "ick", "ow"],
    "fr": ["le", "tion", "eau", "ment", "que", "rai", "ou", "ille", "eur", "ent", "ais", "oi"],
    "es": ["la", "ción", "mente", "ar", "ero", "que", "ll", "iz", "ado", "ía", "os", "ue"],
}


@lru_cache(maxsize=None)
def vocabulary(language: str, size: int = 400, seed: int = 0) -> tuple[str, ...]:
    rng = random.Random(f"{language}-{seed}")
    syl = SYLLABLES[language]
    return tuple("".join(rng.choices(syl, k=rng.randint(1, 3))) for _ in range(size))


def body(seed: int, language: str = "en", paragraphs: int = 4, words: int = 40) -> str:
    rng = random.Random(seed)
    vocab = vocabulary(language)
    return "\n\n".join(" ".join(rng.choices(vocab, k=words)).capitalize() + "."
                       for _ in range(paragraphs))


def make_article(i: int, *, site: str = "example.org", language: str = "en", text: str | None = None,
                 **fields) -> Article:
    text = body(i, language) if text is None else text
    fields.setdefault("title", f"Article {i}")
    return Article(url=f"https://{site}/articles/{i}", text=text, site=site, domain=site,
                   language=language, word_count=len(text.split()),
                   content_hash=content_hash(text), fetched_at="2024-01-01T00:00:00+00:00", **fields)


def fetch_row(article: Article, **fields) -> FetchRow:
    return FetchRow(url=article.url, fetched_at="2024-01-01T00:00:00+00:00", status=200, **fields)


def edit(text: str, seed: int, changes: int = 3) -> str:
    """A copy with a few words replaced (a republisher's small edits)."""
    rng = random.Random(seed)
    words = text.split(" ")
    for _ in range(changes):
        words[rng.randrange(len(words))] = "edited"
    return " ".join(words)
