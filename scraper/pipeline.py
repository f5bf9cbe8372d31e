"""fetch -> clean for many URLs; errors are collected per URL, never raised.

``store_result`` writes a Result to a ``scraper.store.Store`` (the fetch command).
httpx (through ``scraper.fetch``) is imported lazily, when a run starts.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from .config import FetchSettings, Settings
from .errors import CleanError, ScraperError
from .models import Article, Page

CleanFn = Callable[..., Article]


@dataclass(frozen=True)
class Result:
    """The outcome for one URL: a page and an article, or an error."""
    url: str
    page: Page | None = None
    article: Article | None = None
    error: ScraperError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _default_clean() -> CleanFn:
    from .cleaner import clean
    return clean


async def _one(fetcher, url: str, clean_fn: CleanFn) -> Result:
    try:
        page = await fetcher.fetch(url)
    except ScraperError as exc:
        return Result(url, error=exc)
    if page.not_modified:
        return Result(url, page=page)
    try:
        # Cleaning is CPU-bound: a worker thread keeps the event loop (and the
        # deadlines of fetches in flight) responsive.
        article = await asyncio.to_thread(clean_fn, page.html, url, final_url=page.final_url,
                                          fetched_at=page.fetched_at)
    except ScraperError as exc:
        return Result(url, page=page, error=exc)
    except Exception as exc:  # a cleaner bug must not end the whole run
        return Result(url, page=page, error=CleanError(f"cleaner failed: {exc!r}"))
    return Result(url, page=page, article=article)


async def fetch_and_clean(urls: Iterable[str], settings: Settings | FetchSettings | None = None,
                          *, clean_fn: CleanFn | None = None) -> AsyncIterator[Result]:
    """Fetch (politely, concurrently) and clean each URL; yield one Result per
    URL in input order. A fetch or clean failure is a Result with ``error``."""
    from .fetch import Fetcher

    clean_fn = clean_fn or _default_clean()
    async with Fetcher(settings) as fetcher:
        tasks = [asyncio.ensure_future(_one(fetcher, url, clean_fn)) for url in urls]
        try:
            for task in tasks:
                yield await task
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def run_fetch_and_clean(urls: Iterable[str], settings: Settings | FetchSettings | None = None,
                        *, clean_fn: CleanFn | None = None) -> list[Result]:
    """Synchronous wrapper: all Results, in input order."""
    async def collect():
        return [r async for r in fetch_and_clean(urls, settings, clean_fn=clean_fn)]
    return asyncio.run(collect())


# ---------------------------------------------------------------------- storing

def template_clean(store, urls: Iterable[str]) -> CleanFn:
    """A clean function that passes each site's template keys from the store
    (looked up here, once per domain, before any cleaning thread starts)."""
    from .cleaner import clean
    from .urls import domain_of

    keys = {domain_of(u): store.template_keys(u) for u in urls}

    def clean_with_keys(html, url, **options):
        return clean(html, url, template_keys=keys.get(domain_of(url), ()), **options)
    return clean_with_keys


def store_result(store, result: Result):
    """Store one Result: the article with its fetch row (one transaction), a
    304 or a failure as a fetch row. Returns the SaveResult or None."""
    from datetime import datetime, timezone

    from .models import FetchRow

    if result.article is not None:
        return store.save(result.article, FetchRow.from_page(result.page))
    if result.page is not None and result.error is None:
        store.record_fetch(FetchRow.from_page(result.page))
        return None
    page, exc = result.page, result.error
    when = page.fetched_at if page else datetime.now(timezone.utc).replace(
        microsecond=0).isoformat()
    status = page.status if page else getattr(exc, "status", None)
    store.record_fetch(FetchRow(result.url, when, status, "error",
                                error=f"{type(exc).__name__}: {exc}"))
    return None
