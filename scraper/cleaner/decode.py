"""Bytes to text: declared charset (BOM, <meta charset>, http-equiv), then
detection. Binary input is refused with NotHTMLContent."""
from __future__ import annotations

import codecs
import re

from ..errors import NotHTMLContent

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Magic numbers of formats that are never HTML.
_BINARY_MAGIC = (
    b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b",
    b"RIFF", b"\x00\x00\x01\x00", b"BM", b"OggS", b"fLaC", b"ID3", b"\x7fELF", b"MZ",
)


def looks_binary(data: bytes) -> bool:
    """True for known binary formats or text with control bytes (outside a BOM'd UTF-16/32)."""
    head = data[:1024]
    if any(head.startswith(m) for m in _BINARY_MAGIC) and not head.lstrip().startswith(b"<"):
        return True
    if any(head.startswith(bom) for bom, _ in _BOMS[1:]):
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > max(2, len(head) // 50)


def declared_charset(data: bytes) -> str | None:
    """Charset from a BOM or a <meta> in the first 4 KB, if Python knows it."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    m = _META_CHARSET.search(data[:4096])
    if m:
        return _known(m.group(1).decode("ascii", "ignore"))
    return None


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes, charset: str | None = None) -> str:
    """Decode page bytes: the given charset (e.g. from HTTP), BOM or meta
    charset, then UTF-8 if valid, then detection; never raises on a wrong charset."""
    if looks_binary(data):
        raise NotHTMLContent("binary content, not an HTML page")
    enc = _known(charset) or declared_charset(data)
    if enc:
        text = _try(data, enc)
        if text is not None:
            return text.lstrip("\ufeff")
    text = _try(data, "utf-8")
    if text is not None:
        return text.lstrip("\ufeff")
    return _detect(data)


def _try(data: bytes, enc: str) -> str | None:
    try:
        return data.decode(enc)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    enc = best.encoding if best is not None else "cp1252"
    return data.decode(enc, errors="replace")
