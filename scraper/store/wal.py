"""WAL checkpoints off the writing thread, for long bulk saves.

By default SQLite checkpoints at the commit that takes the WAL past 1,000
pages: the writing thread copies the pages into the database file and waits
for the fsync. In a bulk load that is a quarter of the writer's time
(benchmarks/bench_store.py at 100,000 articles: 1,594 articles/s; 2,057
measured once with the writer's autocheckpoint set to 0 and the WAL left
to grow; 1,700-2,000 with this thread, as the machine's speed drifts).

``Checkpointer`` runs PASSIVE checkpoints on a connection of its own in a
background thread, started after each commit, while the writer goes on with
the next batch (SQLite lets one checkpoint and one writer proceed together;
the sqlite3 module releases the GIL).

A WAL only starts again from its beginning when a transaction begins with
every frame checkpointed. A writer that never waits would begin each batch
before the previous one is copied, and the WAL would grow by the whole
load; so once it holds ``limit`` pages the writer waits for the
checkpointer to catch up (``settle``) before its next transaction, and the
WAL stays under about ``limit`` pages plus a batch.
"""
from __future__ import annotations

import sqlite3
import threading

# 32 MiB of 16 KiB pages, about two batches of 1,000 articles. A bigger WAL
# makes every page lookup and commit dearer for little saving: at 100,000
# articles 2,048 gave ~5% more articles/s than 4,096 in runs side by side
# (1,000: no better, for twice as many waits)
WAL_LIMIT_PAGES = 2048


class Checkpointer:
    """A background thread checkpointing the WAL of ``path`` on request.

    ``kick()`` after a commit; ``settle()`` before a transaction, which
    waits for the thread to finish when the WAL is over the limit;
    ``close()`` stops it. A checkpoint that fails (a reader's snapshot or a
    busy file) is only skipped: the next one, or SQLite's own at the next
    ordinary commit, does the work."""

    def __init__(self, path: str, limit: int | None = None, busy_timeout_ms: int = 5000):
        self.limit = WAL_LIMIT_PAGES if limit is None else limit
        self.frames = 0                 # WAL size (pages) seen by the last checkpoint
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=busy_timeout_ms / 1000)
        self._wanted = False            # a commit happened since the last checkpoint began
        self._busy = False
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="scraper-checkpoint", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        with self._cond:
            self._wanted = True
            self._cond.notify_all()

    def settle(self) -> None:
        """If the WAL is over the limit, wait until every commit so far is
        checkpointed, so the next transaction restarts the WAL."""
        with self._cond:
            if self.frames < self.limit:
                return
            while (self._wanted or self._busy) and not self._stop:
                self._cond.wait()
            self.frames = 0  # the next transaction starts the WAL again

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._wanted and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                self._wanted, self._busy = False, True
            try:
                frames = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
            except sqlite3.Error:
                frames = None
            with self._cond:
                self._busy = False
                if frames is not None:
                    self.frames = frames
                self._cond.notify_all()
