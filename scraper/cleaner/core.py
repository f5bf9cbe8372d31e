"""Placeholder cleaner (replaced by the full pipeline)."""
from __future__ import annotations

import hashlib

import trafilatura

from ..errors import EmptyArticle, NotHTMLContent
from ..models import Article


def clean(html, url=None, **options) -> Article:
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if not html.strip():
        raise NotHTMLContent("empty input")
    text = trafilatura.extract(html, url=url) or ""
    if not text.strip():
        raise EmptyArticle("no article body found")
    return Article(url=url, text=text, word_count=len(text.split()),
                   content_hash=hashlib.sha256(text.encode()).hexdigest())
