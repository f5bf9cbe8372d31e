"""scraper: fetch syndicated articles, strip republication notices and
boilerplate (French, English, Spanish), keep clean records in SQLite.

Public API::

    from scraper import clean, fetch
    article = clean(html, url="https://example.org/a")   # -> Article
    page = fetch("https://example.org/a")                # -> Page (FetchError on failure)
"""
from __future__ import annotations

import logging

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    CleanError, ConfigError, EmptyArticle, FetchError, NotHTMLContent, ScraperError, StoreError,
)
from .models import Article, Page, Removed  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())


def clean(html, url=None, **options):
    """Clean one page: see ``scraper.cleaner.clean``. Imported lazily so that
    commands that only read the store do not pay for trafilatura."""
    from .cleaner import clean as _clean
    return _clean(html, url, **options)


def fetch(url, settings=None):
    """Fetch one HTML page synchronously: see ``scraper.fetch.fetch``. httpx is
    imported only when this is called."""
    from .fetch import fetch as _fetch
    return _fetch(url, settings)


__all__ = [
    "__version__", "clean", "fetch", "Article", "Page", "Removed",
    "ScraperError", "ConfigError", "FetchError", "CleanError", "NotHTMLContent",
    "EmptyArticle", "StoreError",
]
