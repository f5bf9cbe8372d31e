"""Normalised keys for paragraphs and texts (no heavy imports: the store uses them)."""
from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """NFKC, case-folded, punctuation and whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()


def squash(text: str | None) -> str:
    """Case-folded letters and digits only: 'Mondialisation.ca' -> 'mondialisationca'.
    For comparing names (sites, outlets, authors, titles) whatever their punctuation."""
    return _NON_WORD.sub("", (text or "").casefold())


def paragraph_key(text: str) -> str:
    """A short stable hash of a paragraph's normalised text (site template memory)."""
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()[:16]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
