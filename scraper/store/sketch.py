"""Near-duplicate sketches: one-permutation MinHash over word 3-shingles and
LSH band keys. Pure functions, stable across processes, platforms and
Python versions (fixed arithmetic, never the built-in ``hash`` of strings).

How it works: every 3-word shingle of the normalised text is hashed to 32
bits (see ``shingle_hash``); the hash picks one of ``BINS`` bins
(``h % BINS``) and each bin keeps its smallest hash. Two texts agree on a
bin with probability close to their Jaccard similarity. Bins are grouped
into ``BANDS`` bands of ``ROWS`` bins; a band's key is stored in an indexed
table, so finding candidate copies is a handful of index lookups whatever
the number of stored articles. Candidates are then confirmed on the full
signature.

The shingle hashes of a text are computed all at once with numpy, from
prefix sums of its bytes (~4x faster than hashing each shingle in Python,
which was 60% of an article's preparation for the store). numpy is imported
on first use, so read-only commands never load it.
"""
from __future__ import annotations

import struct
import sys
import zlib
from array import array

BINS = 64                 # signature length (one-permutation MinHash bins)
ROWS = 4                  # bins per band
BANDS = BINS // ROWS      # 16 band keys per article
SHINGLE = 3               # words per shingle
MIN_WORDS = 30            # shorter texts get no sketch (too little to compare)
THRESHOLD = 0.5           # estimated Jaccard at or above which two texts are copies
_BAND_STRUCT = struct.Struct(f"<{ROWS}I")
_BIN_MASK = BINS - 1      # BINS is a power of two: h & _BIN_MASK == h % BINS
assert BINS & _BIN_MASK == 0
_LITTLE = sys.byteorder == "little"
assert array("I").itemsize == 4

# shingle_hash: a polynomial hash of the shingle's UTF-8 bytes modulo 2**64,
# then the splitmix64 finaliser (which spreads every input bit over the
# output), keeping the high 32 bits
_MASK64 = (1 << 64) - 1
_BASE = 0x100000001B3     # odd, so invertible modulo 2**64
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def shingle_hash(shingle: bytes) -> int:
    """The 32-bit hash of one shingle (its words joined by single spaces),
    in plain Python: the definition ``signature`` computes in bulk."""
    h = 0
    for byte in shingle:
        h = (h * _BASE + byte) & _MASK64
    h ^= h >> 30
    h = (h * _MIX1) & _MASK64
    h ^= h >> 27
    h = (h * _MIX2) & _MASK64
    h ^= h >> 31
    return h >> 32


class _Powers:
    """BASE**k and BASE**-k modulo 2**64 for k < len, grown on demand."""
    def __init__(self):
        self.pos = self.neg = None

    def get(self, np, n: int):
        if self.pos is None or len(self.pos) < n:
            size = max(n, 1 << 15, 2 * (0 if self.pos is None else len(self.pos)))
            self.pos = _cumulative_powers(np, _BASE, size)
            self.neg = _cumulative_powers(np, pow(_BASE, -1, 1 << 64), size)
        return self.pos, self.neg


def _cumulative_powers(np, base: int, size: int):
    out = np.empty(size, np.uint64)
    out[0] = 1
    np.cumprod(np.full(size - 1, base, np.uint64), out=out[1:])  # wraps modulo 2**64
    return out


_POWERS = _Powers()


def signature(normalized: str) -> array | None:
    """The MinHash signature (BINS unsigned 32-bit ints) of a normalised
    text (see scraper.textkeys.normalize_text), or None if it has fewer
    than MIN_WORDS words. Words are what ``str.split`` gives."""
    if ("  " in normalized or normalized[:1] == " " or normalized[-1:] == " "
            or not normalized.isprintable()):
        normalized = " ".join(normalized.split())  # else single spaces are the only separators
    import numpy as np  # here, not at the top: read-only commands never load it
    data = normalized.encode("utf-8")
    pos, neg = _POWERS.get(np, len(data) + 1)
    b = np.frombuffer(data, np.uint8)
    spaces = np.flatnonzero(b == 32)
    if len(spaces) + 1 < MIN_WORDS:
        return None
    n = len(data)
    # prefix[k] = sum of b[j] * BASE**-j for j < k, so that for the bytes
    # [s, e) of a shingle (prefix[e] - prefix[s]) * BASE**(e-1) is the
    # polynomial hash sum of b[j] * BASE**(e-1-j)
    prefix = np.empty(n + 1, np.uint64)
    prefix[0] = 0
    np.cumsum(b * neg[:n], out=prefix[1:])
    starts = np.empty(len(spaces) - SHINGLE + 2, np.int64)   # shingle i starts word i
    starts[0] = 0
    starts[1:] = spaces[:len(starts) - 1] + 1
    ends = np.empty(len(starts), np.int64)                  # and ends word i + 2
    ends[:-1] = spaces[SHINGLE - 1:]
    ends[-1] = n
    h = (prefix[ends] - prefix[starts]) * pos[ends - 1]
    h ^= h >> np.uint64(30)
    h *= np.uint64(_MIX1)
    h ^= h >> np.uint64(27)
    h *= np.uint64(_MIX2)
    h ^= h >> np.uint64(31)
    h >>= np.uint64(32)
    # sorted by (bin, hash): the first of each bin is its minimum
    keyed = np.sort(h | ((h & np.uint64(_BIN_MASK)) << np.uint64(32)))
    bins = keyed >> np.uint64(32)
    first = np.flatnonzero(bins[1:] != bins[:-1]) + 1
    first = np.concatenate(([0], first))
    mins = (keyed[first] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    if len(first) == BINS:  # the usual case: every bin filled, nothing to densify
        return array("I", mins.tobytes())
    return array("I", _densify(dict(zip(bins[first].tolist(), mins.tolist()))))


def _densify(mins: dict[int, int]) -> list[int]:
    """Fill empty bins from the next non-empty bin to the right (circular),
    offset by the distance, so short texts still give every band a key that
    only similar texts share (rotation densification, Shrivastava & Li 2014)."""
    out = []
    for b in range(BINS):
        for d in range(BINS):
            value = mins.get((b + d) % BINS)
            if value is not None:
                out.append((value + d * 0x9E3779B1) & 0xFFFFFFFF)
                break
    return out


def band_keys(sig: array) -> list[int]:
    """One 64-bit key per band: the band number in the high 32 bits, the
    crc32 of the band's bins in the low ones (a rare collision only adds a
    candidate, which the full signature then rejects)."""
    return [(band << 32) | zlib.crc32(_BAND_STRUCT.pack(*sig[band * ROWS:(band + 1) * ROWS]))
            for band in range(BANDS)]


def similarity(a: array, b: array) -> float:
    """Estimated Jaccard similarity of two signatures (share of equal bins)."""
    return sum(map(int.__eq__, a, b)) / BINS


def to_blob(sig: array) -> bytes:
    """Signature as stored (little-endian uint32s)."""
    return sig.tobytes() if _LITTLE else _swap(sig).tobytes()


def from_blob(blob: bytes) -> array:
    """Inverse of to_blob."""
    sig = array("I")
    sig.frombytes(blob)
    return sig if _LITTLE else _swap(sig)


def _swap(sig: array) -> array:
    out = array("I", sig)
    out.byteswap()
    return out
