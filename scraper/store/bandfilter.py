"""A Bloom filter of the band keys stored in a file, held by the writer of a
``Store.save_stream`` so that a batch looks up in the band index only the
keys that may be there.

Most new texts are not copies: their 16 band keys are in no stored article,
and proving it took one index probe per key (at 100,000 articles, a tenth of
the writer's time). The filter says "surely absent" for all but a few of
those keys. A key it lets through is looked up as before, so a false
positive costs a probe and nothing else; a key it drops is surely absent
from the index as it was when the filter was loaded, plus the keys this
writer added since.

Another connection's commit (``PRAGMA data_version`` changes) may have
added keys the filter does not hold: from then on the stream probes every
key again, as without a filter.
"""
from __future__ import annotations

import sqlite3

from .sketch import BANDS

MIN_BITS_LOG = 27        # 16 MiB: ~0.1% false positives at 1.6 million keys (100,000 articles)
MAX_BITS_LOG = 31        # 256 MiB at most
BITS_PER_KEY = 16        # the filter is sized for this many bits per stored key, at least
LOAD_SHARE = 0.25         # loaded once the stream has looked up this share of the stored keys
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)   # odd: two multiplicative hashes


class BandFilter:
    """Use ``ready(conn, keys)`` inside the writer's transaction, then
    ``maybe`` and ``add``."""

    def __init__(self) -> None:
        self.words = None         # numpy uint64 array of bits, loaded when it pays
        self.version: int | None = None
        self.off = False          # another writer committed: no filter any more
        self.probes = 0           # keys the stream has looked up so far

    def ready(self, conn: sqlite3.Connection, keys: int) -> bool:
        """Whether the filter may be used for this transaction (inside it:
        BEGIN IMMEDIATE keeps other writers out until the commit), which
        will look up about ``keys`` band keys. It is loaded once the
        stream's lookups reach LOAD_SHARE of the stored keys (reading a key
        from the table costs a fraction of probing one: a short stream into
        a big file never loads it); turned off for good once another
        connection has committed since it was loaded."""
        if self.off:
            return False
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if self.words is None:
            self.probes += keys
            stored = conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
            if self.probes < LOAD_SHARE * stored * BANDS:   # stored keys, estimated
                return False
            self._load(conn)
            self.version = version
        elif version != self.version:
            self.off, self.words = True, None
            return False
        return True

    def _load(self, conn: sqlite3.Connection) -> None:
        import numpy as np
        keys = np.fromiter((row[0] for row in conn.execute("SELECT key FROM minhash_bands")),
                           dtype=np.int64)
        bits_log = min(MAX_BITS_LOG, max(MIN_BITS_LOG, (BITS_PER_KEY * len(keys)).bit_length()))
        self.shift = np.uint64(64 - bits_log)
        self.words = np.zeros(1 << (bits_log - 6), dtype=np.uint64)
        self.add(keys)

    def _bits(self, keys):
        """For each hash: the word of every key's bit and that bit's mask."""
        import numpy as np
        k = np.asarray(keys, dtype=np.int64).view(np.uint64)
        out = []
        with np.errstate(over="ignore"):   # the products wrap modulo 2**64
            for m in _MULTIPLIERS:
                slot = (k * np.uint64(m)) >> self.shift
                out.append((slot >> np.uint64(6), np.uint64(1) << (slot & np.uint64(63))))
        return out

    def add(self, keys) -> None:
        """Note keys as stored (before the commit: a rollback only leaves
        false positives)."""
        import numpy as np
        if not len(keys):
            return
        for index, bits in self._bits(keys):
            np.bitwise_or.at(self.words, index, bits)   # unbuffered: keys sharing a word all count

    def maybe(self, keys: list[int]) -> list[int]:
        """The keys that may be stored (the others surely are not)."""
        import numpy as np
        if not keys:
            return []
        array = np.asarray(keys, dtype=np.int64)
        hit = np.ones(len(keys), dtype=bool)
        for index, bits in self._bits(array):
            hit &= self.words[index] & bits != 0
        return array[hit].tolist()
