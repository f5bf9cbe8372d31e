"""The cron job's batched writes (scraper.run._Saver): articles coming fast
share a transaction; a slow run stores each one soon after it came."""
from __future__ import annotations

import asyncio

from store_helpers import fetch_row, make_article

from scraper import run as runmod
from scraper.store import Store


class CountingStore(Store):
    """A real store that notes the size of each batch it writes."""

    def __init__(self, path):
        super().__init__(path)
        self.batches: list[int] = []

    def save_many(self, items, **kw):
        items = list(items)
        self.batches.append(len(items))
        return super().save_many(items, **kw)


async def _feed(saver, start: int, count: int, gap: float) -> list[str]:
    futures = []
    for i in range(start, start + count):
        article = make_article(i, site=f"s{i % 3}.org")
        futures.append(saver.add(article, fetch_row(article)))
        await asyncio.sleep(gap)
    return list(await asyncio.gather(*futures))


def test_articles_coming_fast_are_written_together_slow_ones_at_once(tmp_path):
    with CountingStore(tmp_path / "s.db") as store:
        saver = runmod._Saver(store)

        async def scenario():
            fast = await _feed(saver, 0, 30, 0.002)          # 30 within ~0.06 s
            started = asyncio.get_running_loop().time()
            slow = await _feed(saver, 100, 3, runmod.SAVE_QUIET * 3)
            return fast, slow, asyncio.get_running_loop().time() - started
        fast, slow, seconds = asyncio.run(scenario())
        assert fast == ["new"] * 30 and slow == ["new"] * 3
        assert store.batches[0] == 30          # one transaction, not one per SAVE_QUIET
        assert store.batches[1:] == [1, 1, 1]  # each slow one alone, none waited SAVE_LINGER
        assert seconds < runmod.SAVE_LINGER + runmod.SAVE_QUIET * 9


def test_a_steady_stream_is_cut_at_save_batch_or_save_linger(tmp_path, monkeypatch):
    monkeypatch.setattr(runmod, "SAVE_LINGER", 0.3)
    with CountingStore(tmp_path / "s.db") as store:
        saver = runmod._Saver(store)
        asyncio.run(_feed(saver, 0, runmod.SAVE_BATCH + 5, 0.0))   # all at once
        assert store.batches == [runmod.SAVE_BATCH, 5]
        store.batches.clear()
        asyncio.run(_feed(saver, 1000, 30, 0.05))  # never quiet: SAVE_LINGER cuts it
        assert len(store.batches) >= 3 and sum(store.batches) == 30
        assert max(store.batches) <= 0.3 / 0.05 + 2
