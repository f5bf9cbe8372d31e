"""Near-duplicate sketches: one-permutation MinHash over word 3-shingles and
LSH band keys. Pure functions, stable across processes and Python versions
(zlib.crc32, never the built-in ``hash`` of strings).

How it works: every distinct 3-word shingle of the normalised text is hashed
once to 32 bits; the hash picks one of ``BINS`` bins (``h % BINS``) and each
bin keeps its smallest hash. Two texts agree on a bin with probability close
to their Jaccard similarity. Bins are grouped into ``BANDS`` bands of
``ROWS`` bins; a band's key is stored in an indexed table, so finding
candidate copies is a handful of index lookups whatever the number of
stored articles. Candidates are then confirmed on the full signature.
"""
from __future__ import annotations

import struct
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


def signature(normalized: str) -> array | None:
    """The MinHash signature (BINS unsigned 32-bit ints) of a normalised
    text (see scraper.textkeys.normalize_text), or None if it is too short."""
    words = normalized.encode("utf-8").split()
    if len(words) < MIN_WORDS:
        return None
    shingles = map(b" ".join, zip(*(words[i:] for i in range(SHINGLE))))
    hashes = sorted(map(zlib.crc32, shingles), reverse=True)  # repeats are harmless
    mins = dict(zip(map(_BIN_MASK.__and__, hashes), hashes))  # h % BINS; last (smallest) wins
    if len(mins) == BINS:  # the usual case: every bin filled, nothing to densify
        return array("I", map(mins.__getitem__, range(BINS)))
    return array("I", _densify(mins))


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
    return sig.tobytes() if array("I").itemsize == 4 and _little() else _swap(sig).tobytes()


def from_blob(blob: bytes) -> array:
    """Inverse of to_blob."""
    sig = array("I")
    sig.frombytes(blob)
    return sig if _little() else _swap(sig)


def _little() -> bool:
    import sys
    return sys.byteorder == "little"


def _swap(sig: array) -> array:
    out = array("I", sig)
    out.byteswap()
    return out
