"""The cron job: for each configured source, discover new items, fetch them
politely, clean them in a process pool (every core, while fetching goes on)
and store them from this process (the single writer).

    from scraper.config import load_config
    from scraper.run import run
    settings, sources = load_config("config/scraper.toml")
    summary = run(settings, sources)          # -> RunSummary
    print(summary.line())

Incremental: a source's state in the store (table ``sources``, column
``state``) keeps per feed/sitemap URL its validators (ETag, Last-Modified)
and the newest entry date seen, the feeds found on a homepage, and the items
still to retry. A run with nothing new sends only conditional requests.
URLs already stored are skipped unless ``refresh``.

One failing source or page never stops the others: each failure is a row in
``fetches`` (outcome "error") and counts in the summary. Every article is
stored with its fetch row in one transaction. SIGINT/SIGTERM stop the run:
no new fetch starts, cleans in flight are dropped unstored, the lock is
released.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from .config import Settings, Source, source_fetch_settings
from .discover import (
    Candidate, discover_feeds, parse_feed, parse_sitemap, read_feed, read_sitemap,
)
from .errors import AlreadyRunning, ConfigError, DiscoveryError, FetchError, ScraperError
from .models import Article, FetchRow
from .urls import domain_of
from .workers import ExecutorPool, ForkPool, fork_available

log = logging.getLogger(__name__)

MAX_RETRIES = 3              # a failed item is retried on this many later runs, then dropped
INFLIGHT_PER_WORKER = 4      # pages fetched but not yet stored, per cleaning process
MIN_INFLIGHT = 16
SAVE_BATCH = 64              # cleaned articles written per store transaction (each with its fetch row)
SAVE_LINGER = 1.0            # seconds a batch waits at most for more cleaned articles ...
SAVE_QUIET = 0.1             # ... and at least this long after the last one came


@dataclass(frozen=True)
class SourceSummary:
    """What one source gave in a run."""
    name: str
    discovered: int = 0      # candidate items found (before skipping stored ones)
    skipped: int = 0         # already stored
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = None  # why discovery failed, if it did
    pending: int = 0         # left for a later run (--max-items, failures to retry)
    queued: int = 0          # items this run set out to fetch


@dataclass(frozen=True)
class RunSummary:
    """Totals of a run; ``sources`` has one SourceSummary per source."""
    new: int
    updated: int
    unchanged: int
    failed: int
    seconds: float
    sources: tuple[SourceSummary, ...] = ()
    interrupted: bool = False
    dry_run: bool = False

    def line(self) -> str:
        """The one-line summary printed under cron."""
        text = (f"new {self.new}, updated {self.updated}, unchanged {self.unchanged}, "
                f"failed {self.failed}, {self.seconds:.1f} s")
        if self.dry_run:
            text = (f"dry run: would fetch {sum(s.queued for s in self.sources)} items, "
                    f"{self.seconds:.1f} s")
        return text + (" (interrupted)" if self.interrupted else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Event:
    """Progress of a run, passed to the ``progress`` callback.
    kind: "source" (started), "discovered" (``total`` items to fetch),
    "item" (one item done: ``outcome`` new/updated/unchanged/failed, ``error``),
    "would_fetch" (dry run), "source_done" (``summary``)."""
    kind: str
    source: str
    url: str | None = None
    outcome: str | None = None
    error: str | None = None
    total: int | None = None
    summary: SourceSummary | None = None


Progress = Callable[[Event], None]


@dataclass
class _Tally:
    name: str
    discovered: int = 0
    skipped: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)
    previous: dict[str, int] = field(default_factory=dict)   # attempts of earlier runs
    queued: int = 0

    def freeze(self) -> SourceSummary:
        return SourceSummary(self.name, self.discovered, self.skipped, self.new, self.updated,
                             self.unchanged, self.failed, "; ".join(self.errors) or None,
                             len(self.pending), self.queued)


def _utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------------- lock

@contextmanager
def run_lock(db: str):
    """Hold ``<db>.lock`` for the run; AlreadyRunning at once if it is held.
    The OS releases it if the process dies (even with SIGKILL)."""
    from filelock import FileLock, Timeout

    lock = FileLock(f"{db}.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise AlreadyRunning(f"another run holds {db}.lock; nothing to do") from exc
    try:
        yield
    finally:
        lock.release()


# ---------------------------------------------------------------------- cleaning (in workers)

PARENT_CHECK_SECONDS = 0.5   # where prctl is missing: a worker whose parent died exits within this
_PR_SET_PDEATHSIG = 1


def _worker_init() -> None:
    """Workers leave SIGINT/SIGTERM to the main process, which stops the run,
    and exit on their own if their parent dies: a killed run leaves no
    orphan behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    if _die_with_parent():
        if os.getppid() != parent:   # it died before prctl took effect
            os._exit(1)
        return
    import threading
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _die_with_parent() -> bool:
    """Linux: the kernel kills this process when its parent ends (prctl
    PR_SET_PDEATHSIG). Elsewhere False, and a thread watches the parent
    instead: with a second thread in the process, a worker cleaned a page
    in 14.6 ms instead of 14.0-14.3 (glibc's malloc leaves its one-thread
    fast path), the cost of every page."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


_WARM_UP_PAGE = ("<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
                 + "".join(f"<p>The farmers of the valley waited for the rain for many weeks, "
                           f"and it came on a Tuesday morning, soaking the fields ({i}).</p>"
                           for i in range(5)) + "</article></body></html>")


def warm_up() -> None:
    """Clean a tiny page once: the cleaner's lazy imports (trafilatura,
    language profiles) load here, in the workers' starter before it forks
    them, instead of once in every worker (about half a second of CPU each)."""
    from .fetch import Response
    page = Response("http://warm-up.invalid/", "http://warm-up.invalid/", 200,
                    (("content-type", "text/html; charset=utf-8"),),
                    _WARM_UP_PAGE.encode("utf-8"), "")
    clean_job(page, frozenset(), None, None)


@lru_cache(maxsize=16)
def _rules(path: str | None):
    if path is None:
        return None
    from .cleaner.notices import builtin_rules, load_rules_file
    return builtin_rules() + load_rules_file(path)


def clean_job(resp, keys: frozenset[str], rules: str | None, language: str | None
              ) -> Article | tuple[str, str]:
    """Check, decode and clean one fetched page (a ``fetch.Response``) in a
    worker; an error comes back as (kind, message) so nothing unpicklable
    crosses the process boundary."""
    from .cleaner import clean
    from .fetch import to_page
    try:
        page = to_page(resp)
        return clean(page.html, resp.url, template_keys=keys, fetched_at=page.fetched_at,
                     final_url=page.final_url, content_language=language, rules=_rules(rules))
    except ScraperError as exc:
        return type(exc).__name__, str(exc)
    except Exception as exc:  # a cleaner bug fails this page only
        return "CleanerBug", repr(exc)


# ---------------------------------------------------------------------- the run

def select_sources(sources: Iterable[Source], only: Iterable[str] | None) -> tuple[Source, ...]:
    """The enabled sources, or those named in ``only`` (ConfigError for an unknown name)."""
    sources = tuple(sources)
    if not only:
        return tuple(s for s in sources if s.enabled)
    names = {s.name: s for s in sources}
    missing = [n for n in only if n not in names]
    if missing:
        raise ConfigError(f"unknown source {missing[0]!r} (configured: "
                          f"{', '.join(names) or 'none'})")
    return tuple(names[n] for n in dict.fromkeys(only))


def run(settings: Settings, sources: Iterable[Source], db: str | None = None, *,
        only: Iterable[str] | None = None, max_items: int | None = None, refresh: bool = False,
        dry_run: bool = False, progress: Progress | None = None) -> RunSummary:
    """Run every (selected) source once; see the module docstring.
    Raises ConfigError (no or unknown sources), AlreadyRunning, StoreError."""
    chosen = select_sources(sources, only)
    if not chosen:
        raise ConfigError(f"{settings.path or 'settings'}: no sources configured "
                          f"(add [[source]] tables or a 'sources' file)")
    db = db or settings.db
    job = _Run(settings, chosen, db, max_items=max_items, refresh=refresh, dry_run=dry_run,
               progress=progress or (lambda event: None))
    if dry_run:
        return asyncio.run(job.main())
    with run_lock(db):
        return asyncio.run(job.main())


class _Run:
    def __init__(self, settings: Settings, sources: tuple[Source, ...], db: str, *,
                 max_items: int | None, refresh: bool, dry_run: bool, progress: Progress):
        self.settings, self.sources, self.db = settings, sources, db
        self.max_items, self.refresh, self.dry_run = max_items, refresh, dry_run
        self.progress = progress
        self.workers = settings.workers or os.cpu_count() or 1
        self.pool = None
        self.store = None
        self.saver: _Saver | None = None
        self.stopping = False
        self.keys: dict[str, frozenset[str]] = {}
        self.inflight: asyncio.Semaphore | None = None
        self.to_come = len(sources)   # sources still discovering + items not yet cleaned (or failed)

    # ---- lifecycle ---------------------------------------------------------
    async def main(self) -> RunSummary:
        started = time.monotonic()
        self.inflight = asyncio.Semaphore(max(MIN_INFLIGHT, self.workers * INFLIGHT_PER_WORKER))
        if not self.dry_run:
            # first: the workers get ready (~0.5 s of CPU) while this process
            # opens its store (importing sqlite-utils and numpy, ~0.15 s) and
            # its fetchers start and the feeds come
            try:
                self._pool()
            except Exception:  # noqa: BLE001 - e.g. fork refused: tried again, and told, per item
                pass
        try:
            self.store = self._open_store()
        except BaseException:
            self._shutdown()
            raise
        self.saver = _Saver(self.store)
        task = asyncio.current_task()
        handlers = self._install_signals(task)
        tallies = [_Tally(s.name) for s in self.sources]
        interrupted = False
        # what is loaded by now (modules, the store) lives for the run: the
        # collector's passes need not walk it (half its time in bench_run.py)
        gc.freeze()
        try:
            async with AsyncExitStack() as stack:
                fetchers = await self._fetchers(stack)
                await asyncio.gather(*(self._source(s, t, fetchers[s.name])
                                       for s, t in zip(self.sources, tallies)))
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            interrupted = True
        finally:
            self._remove_signals(handlers)
            self._shutdown()
            gc.unfreeze()   # collected again if a process runs more than once
        return _summary(tallies, time.monotonic() - started, interrupted, self.dry_run)

    def _open_store(self):
        from .store import Store
        if not self.dry_run:
            return Store(self.db)
        return Store.open_readonly(self.db) if os.path.isfile(self.db) else None

    def _install_signals(self, task: asyncio.Task) -> list[int]:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._stop, task)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                pass
        return installed

    def _remove_signals(self, installed: list[int]) -> None:
        loop = asyncio.get_running_loop()
        for sig in installed:
            loop.remove_signal_handler(sig)

    def _stop(self, task: asyncio.Task) -> None:
        """First signal: stop (nothing new starts; stored stays stored)."""
        if not self.stopping:
            self.stopping = True
            log.warning("stopping: finishing the article being stored, dropping the rest")
            task.cancel()

    def _shutdown(self) -> None:
        if self.saver is not None:
            self.saver.drop()
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def _pool(self):
        if self.pool is None:
            # fork: the workers' starter loads the cleaner (warm_up) while
            # this process goes on; they share it copy-on-write and only run
            # clean_job and parse_feed, fed by this event loop (no threads)
            if fork_available():
                self.pool = ForkPool(self.workers, initializer=_worker_init, prepare=warm_up)
            else:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor
                self.pool = ExecutorPool(ProcessPoolExecutor(
                    self.workers, initializer=_worker_init,
                    mp_context=multiprocessing.get_context("spawn")))
        return self.pool

    async def _fetchers(self, stack: AsyncExitStack) -> dict[str, Any]:
        """One Fetcher per distinct per-source fetch settings: sources without
        overrides share one (one robots.txt cache, one politeness clock per host)."""
        from .fetch import Fetcher

        by_settings: dict[Any, Any] = {}
        out = {}
        for source in self.sources:
            settings = source_fetch_settings(self.settings.fetch, source)
            if settings not in by_settings:
                by_settings[settings] = await stack.enter_async_context(Fetcher(settings))
            out[source.name] = by_settings[settings]
        return out

    # ---- one source ----------------------------------------------------------
    async def _source(self, source: Source, tally: _Tally, fetcher) -> None:
        self.progress(Event("source", source.name))
        try:
            await self._source_run(source, tally, fetcher)
        except (ScraperError, OSError) as exc:  # e.g. the store refused: this source only
            tally.errors.append(str(exc))
            tally.failed += 1
        self.progress(Event("source_done", source.name, summary=tally.freeze()))

    async def _source_run(self, source: Source, tally: _Tally, fetcher) -> None:
        state = self._state(source)
        items = 0
        try:
            found, new_state = await self._discover(fetcher, source, state, tally)
            todo = self._todo(found, state, tally)
            items = 0 if self.dry_run else len(todo)
        finally:
            self._to_come(items - 1)   # this source's discovery is done, its items are to come
        self.progress(Event("discovered", source.name, total=len(todo)))
        if self.dry_run:
            for cand in todo:
                self.progress(Event("would_fetch", source.name, url=cand.url))
        else:
            await asyncio.gather(*(self._item(fetcher, source, c, tally) for c in todo))
        new_state["pending"] = tally.pending
        if not self.dry_run:
            self._save_state(source, tally, new_state)

    def _state(self, source: Source) -> dict[str, Any]:
        row = self.store.source_state(source.name) if self.store is not None else None
        return dict(row["state"]) if row and row.get("state") else {}

    def _todo(self, found: list[Candidate], state: dict, tally: _Tally) -> list[Candidate]:
        """New candidates (not stored, unless refresh), then earlier leftovers;
        beyond max_items they are kept pending for the next run."""
        previous = dict(state.get("pending") or {})
        todo: dict[str, Candidate] = {}
        for cand in found + [Candidate(url) for url in previous]:
            if cand.url in todo:
                continue
            if not self.refresh and self.store is not None and self.store.has_url(cand.url):
                tally.skipped += 1
                continue
            todo[cand.url] = cand
        tally.discovered = len(found)
        items = list(todo.values())
        for cand in items[self.max_items:] if self.max_items is not None else ():
            tally.pending[cand.url] = previous.get(cand.url, 0)
        tally.previous = previous
        items = items[:self.max_items] if self.max_items is not None else items
        tally.queued = len(items)
        return items

    def _save_state(self, source: Source, tally: _Tally, state: dict) -> None:
        ok = not tally.errors and tally.failed == 0
        error = "; ".join(tally.errors) or (f"{tally.failed} item(s) failed" if tally.failed
                                            else None)
        self.store.update_source(source.name, source.kind, source.urls[0], ok=ok, error=error,
                                 state=state)

    # ---- discovery -------------------------------------------------------------
    async def _discover(self, fetcher, source: Source, state: dict, tally: _Tally
                        ) -> tuple[list[Candidate], dict]:
        """Candidates of a source and its next state; a failing feed or sitemap
        is recorded and the others still count."""
        new_state = {k: v for k, v in state.items() if k in ("feeds", "homepage_feeds")}
        if source.kind == "urls":
            return [Candidate(u) for u in source.urls], new_state
        feeds = dict(state.get("feeds") or {}) if not self.refresh else {}
        targets = list(source.urls)
        if source.kind == "homepage":
            targets = await self._homepage_feeds(fetcher, source, new_state, tally)
        found: list[Candidate] = []
        for url in targets:
            try:
                items, feeds[url] = await self._read(fetcher, source.kind, url, feeds.get(url, {}))
            except (FetchError, DiscoveryError) as exc:
                self._source_failure(url, exc, tally)
                if source.kind == "homepage":  # rediscover next time
                    new_state.get("homepage_feeds", {}).clear()
                continue
            found.extend(items)
        new_state["feeds"] = {u: v for u, v in feeds.items() if u in targets}
        return found, new_state

    async def _homepage_feeds(self, fetcher, source: Source, state: dict, tally: _Tally
                              ) -> list[str]:
        known = state.setdefault("homepage_feeds", {})
        feeds: list[str] = []
        for page in source.urls:
            if page in known and not self.refresh:
                feeds.extend(known[page])
                continue
            try:
                found = await discover_feeds(fetcher, page)
                if not found:
                    raise DiscoveryError(f"{page}: no RSS/Atom feed announced")
            except (FetchError, DiscoveryError) as exc:
                self._source_failure(page, exc, tally)
                continue
            known[page] = list(found)
            feeds.extend(found)
        return list(dict.fromkeys(feeds))

    async def _read(self, fetcher, kind: str, url: str, memo: dict
                    ) -> tuple[list[Candidate], dict]:
        """One feed or sitemap, conditionally; (new candidates, its next memo)."""
        since = _parse_date(memo.get("newest"))
        etag, modified = memo.get("etag"), memo.get("last_modified")
        if kind == "sitemap":
            items, etag, modified, status = await _read_sitemap(fetcher, url, since, etag,
                                                                modified)
        else:
            found = await read_feed(fetcher, url, since, etag, modified, parse=self._parse_feed)
            items, etag, modified = list(found.candidates), found.etag, found.last_modified
            status = 304 if found.not_modified else 200
        self._record(FetchRow(url, _utcnow(), status, "not_modified" if status == 304 else kind,
                              etag=etag, last_modified=modified))
        newest = max([memo.get("newest") or ""] + [c.published or "" for c in items]) or None
        return items, {"etag": etag, "last_modified": modified, "newest": newest}

    async def _parse_feed(self, data: bytes, base: str, since) -> tuple[Candidate, ...]:
        """parse_feed in the cleaning pool (feedparser takes ~20 ms for a
        feed of 100 items: the run's feeds, parsed in this process at its
        start, kept the event loop from fetching while the workers waited)."""
        if self.dry_run:
            return parse_feed(data, base, since)
        try:
            return await self._pool().submit(parse_feed, data, base, since)
        except ScraperError:
            raise
        except Exception:  # noqa: BLE001 - a broken pool: the feed is parsed here instead
            return parse_feed(data, base, since)

    def _source_failure(self, url: str, exc: ScraperError, tally: _Tally) -> None:
        tally.failed += 1
        tally.errors.append(f"{url}: {exc}")
        self._record(FetchRow(url, _utcnow(), getattr(exc, "status", None), "error",
                              error=f"{type(exc).__name__}: {exc}"))
        self.progress(Event("item", tally.name, url=url, outcome="failed", error=str(exc)))

    def _record(self, row: FetchRow) -> None:
        if not self.dry_run:
            self.store.record_fetch(row)

    # ---- one item ----------------------------------------------------------------
    async def _item(self, fetcher, source: Source, cand: Candidate, tally: _Tally) -> None:
        try:
            try:
                async with self.inflight:  # fetched and cleaning; waiting for the batch write is not in flight
                    if self.stopping:
                        return
                    outcome = await self._fetch_clean_store(fetcher, source, cand.url)
            finally:
                self._to_come(-1)
            if isinstance(outcome, asyncio.Future):
                outcome = await outcome
        except ScraperError as exc:
            self._item_failed(cand.url, exc, tally)
            return
        except Exception as exc:  # a bug or a broken pool fails this item only
            self._item_failed(cand.url, ScraperError(repr(exc)), tally)
            return
        setattr(tally, outcome, getattr(tally, outcome) + 1)
        tally.pending.pop(cand.url, None)
        self.progress(Event("item", source.name, url=cand.url, outcome=outcome))

    def _to_come(self, change: int) -> None:
        """Count what can still bring an article to the saver (sources
        discovering, items fetching or cleaning): once nothing can, the batch
        waiting to be written is written now, not after SAVE_QUIET."""
        self.to_come += change
        if self.to_come == 0:
            # its own callback: the write does not run inside an item's cleanup
            asyncio.get_running_loop().call_soon(self.saver.flush)

    async def _fetch_clean_store(self, fetcher, source: Source, url: str) -> str | asyncio.Future:
        etag, modified = self.store.validators(url) if self.refresh else (None, None)
        try:
            resp = await fetcher.fetch_raw(url, etag, modified)
        except FetchError as exc:
            raise _Failed(exc, None) from exc
        if resp.not_modified:
            from .fetch import to_page
            self.store.record_fetch(FetchRow.from_page(to_page(resp, etag, modified)))
            return "unchanged"
        keys = self._template_keys(resp.final_url)
        # the body goes to the worker undecoded: it is checked and decoded there
        result = await self._pool().submit(clean_job, resp, keys, source.rules,
                                           source.language)
        if isinstance(result, tuple):
            raise _Failed(ScraperError(result[1]), resp, kind=result[0])
        if self.stopping:  # interrupted while cleaning: dropped, never half-stored
            raise asyncio.CancelledError
        return self.saver.add(result, _fetch_row(resp))

    def _template_keys(self, url: str) -> frozenset[str]:
        domain = domain_of(url) or ""
        if domain not in self.keys:
            self.keys[domain] = self.store.template_keys(url)
        return self.keys[domain]

    def _item_failed(self, url: str, exc: ScraperError, tally: _Tally) -> None:
        resp = exc.resp if isinstance(exc, _Failed) else None
        cause = exc.cause if isinstance(exc, _Failed) else exc
        kind = getattr(exc, "kind", None) or type(cause).__name__   # e.g. NotHTML, TimedOut
        status = resp.status if resp is not None else getattr(cause, "status", None)
        self.store.record_fetch(FetchRow(url, resp.fetched_at if resp else _utcnow(), status,
                                         "error", error=f"{kind}: {cause}",
                                         bytes=len(resp.body) if resp else 0,
                                         elapsed=resp.elapsed if resp else 0.0))
        tally.failed += 1
        attempts = tally.previous.get(url, 0) + 1
        if attempts < MAX_RETRIES:
            tally.pending[url] = attempts
        else:
            tally.pending.pop(url, None)
        self.progress(Event("item", tally.name, url=url, outcome="failed", error=str(cause)))


class _Saver:
    """Cleaned articles are written in batches, one store transaction per
    batch (each article with its fetch row, so none is ever half-stored):
    SAVE_BATCH articles, or what is waiting once no article has come for
    SAVE_QUIET seconds or the first has waited SAVE_LINGER. One commit per
    batch instead of per article is most of the single writer's cost, and a
    batch of 5 articles costs the store about twice as much per article as
    one of 64 (bench_store.py --workers 0 --batch 5, then --batch 64): a
    fixed wait of 0.1 s made batches of 5 to 10 at 50-100 pages/s. A slow
    (polite) run still stores each article within SAVE_QUIET. ``add``
    returns a future for the save's status ("new" / "updated" /
    "unchanged"); a stopped run drops what was not written yet (it is
    fetched again next time)."""

    def __init__(self, store):
        self.store = store
        self.items: list[tuple[Article, FetchRow]] = []
        self.waiters: list[asyncio.Future] = []
        self.timer: asyncio.TimerHandle | None = None
        self.first = 0.0   # when the first article waiting came

    def add(self, article: Article, row: FetchRow) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        now = loop.time()
        if not self.items:
            self.first = now
        self.items.append((article, row))
        self.waiters.append(future)
        if len(self.items) >= SAVE_BATCH:
            self.flush()
        else:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = loop.call_at(min(self.first + SAVE_LINGER, now + SAVE_QUIET), self.flush)
        return future

    def drop(self) -> None:
        """Forget what is not written yet (a stopped run)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.items, self.waiters = [], []

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        items, waiters, self.items, self.waiters = self.items, self.waiters, [], []
        if not items:
            return
        try:
            results = [r.status for r in self.store.save_many(items)]
        except Exception as exc:  # noqa: BLE001 - the batch's items fail, the run goes on
            error = exc if isinstance(exc, ScraperError) else ScraperError(repr(exc))
            results = [error] * len(items)
        for future, result in zip(waiters, results):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


def _fetch_row(resp) -> FetchRow:
    """FetchRow.from_page for a page left undecoded (a ``fetch.Response``,
    decoded in the cleaning process): the outcome is the save's."""
    return FetchRow(url=resp.url, fetched_at=resp.fetched_at, status=resp.status,
                    etag=resp.etag, last_modified=resp.last_modified, bytes=len(resp.body),
                    elapsed=resp.elapsed)


class _Failed(ScraperError):
    """An item's failure with the response fetched before it (if any)."""

    def __init__(self, cause: ScraperError, resp=None, kind: str | None = None):
        super().__init__(str(cause))
        self.cause, self.resp, self.kind = cause, resp, kind   # kind: a worker's error class


async def _read_sitemap(fetcher, url: str, since, etag, modified):
    """A sitemap (or index) with a conditional GET on the top document."""
    resp = await fetcher.fetch_bytes(url, etag=etag, last_modified=modified)
    if resp.not_modified:
        return [], resp.etag or etag, resp.last_modified or modified, 304
    found = parse_sitemap(resp.body, since, source=url, max_bytes=fetcher.settings.max_bytes)
    items = list(found.candidates)
    for child in found.children[:50]:
        items.extend(await read_sitemap(fetcher, child.url, since))
    return list(dict.fromkeys(items)), resp.etag, resp.last_modified, resp.status


def _parse_date(value: str | None):
    from .discover import parse_date
    return parse_date(value)


def _summary(tallies: list[_Tally], seconds: float, interrupted: bool, dry_run: bool
             ) -> RunSummary:
    parts = tuple(t.freeze() for t in tallies)
    return RunSummary(new=sum(p.new for p in parts), updated=sum(p.updated for p in parts),
                      unchanged=sum(p.unchanged for p in parts),
                      failed=sum(p.failed for p in parts), seconds=round(seconds, 2),
                      sources=parts, interrupted=interrupted, dry_run=dry_run)
