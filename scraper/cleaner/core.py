"""Placeholder cleaner (replaced by the full pipeline). The signature is the contract."""
from __future__ import annotations

from collections.abc import Collection

import trafilatura

from ..errors import EmptyArticle, NotHTMLContent
from ..models import Article, Removed
from ..textkeys import content_hash, paragraph_key


def clean(html, url=None, *, template_keys: Collection[str] = (), fetched_at: str | None = None,
          final_url: str | None = None) -> Article:
    """``template_keys``: paragraph_key()s that the store has seen recurring on
    many pages of this site; such paragraphs are dropped with rule 'template'."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if not html.strip():
        raise NotHTMLContent("empty input")
    text = trafilatura.extract(html, url=url) or ""
    paras, removed = [], []
    for p in text.split("\n"):
        if not p.strip():
            continue
        if paragraph_key(p) in template_keys:
            removed.append(Removed(p, "template"))
        else:
            paras.append(p)
    text = "\n\n".join(paras)
    if not text.strip():
        raise EmptyArticle("no article body found")
    return Article(url=url, text=text, word_count=len(text.split()), removed=tuple(removed),
                   content_hash=content_hash(text), fetched_at=fetched_at, final_url=final_url)
