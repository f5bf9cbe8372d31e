"""Response bodies: bounded content decoding, binary sniffing and charset
choice. Pure functions and small classes, no I/O and no httpx, so the fetcher
and discovery share them and tests can exercise them directly.

Content decoding is done here rather than by the HTTP client so that the size
cap is counted on the *decoded* bytes while streaming: a gzip, deflate or
brotli bomb (or gzip inside gzip) stops at the cap with memory bounded by the
cap plus one chunk, never by the bomb's decoded size.
"""
from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator

import brotli

from .errors import BadEncoding, NotHTML, TooLarge, Truncated

CHUNK = 64 * 1024            # largest piece a decoder stage emits at once
MAX_NESTED_GZIP = 2          # gzip found inside a gzip body is decoded this many times more
GZIP_MAGIC = b"\x1f\x8b"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
SNIFF_BYTES = 1024
META_SCAN_BYTES = 4096
WESTERN_DEFAULT = "cp1252"   # preferred undeclared legacy charset (see detect_charset)
CHAOS_SLACK = 0.05

BINARY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"), (b"%PDF-", "PDF document"), (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"), (b"\xff\xd8\xff", "JPEG image"), (b"PK\x03\x04", "ZIP archive"),
    (GZIP_MAGIC, "gzip data"), (b"RIFF", "RIFF media"), (b"\x00\x00\x01\x00", "icon"),
    (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"), (b"\x7fELF", "executable"),
    (b"MZ", "executable"), (b"wOFF", "web font"), (b"wOF2", "web font"),
)
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]{1,40})""", re.IGNORECASE)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


# --------------------------------------------------------------------------- decoding

class _Stage:
    """One content-coding layer; ``feed`` yields pieces of at most CHUNK bytes."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError

    def finished(self) -> bool:
        return True


class _Identity(_Stage):
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data


class _Zlib(_Stage):
    """gzip (wbits 16+15) or deflate (zlib wrapper, or raw deflate as some servers send)."""

    def __init__(self, wbits: int):
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = wbits == zlib.MAX_WBITS
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._started and data and self._raw_fallback:
            self._started = True
            if data[0] & 0x0F != 8:  # no zlib header: raw deflate
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        self._started = True
        while data and not self._d.eof:
            out = self._d.decompress(data, CHUNK)
            data = self._d.unconsumed_tail
            if out:
                yield out

    def finished(self) -> bool:
        return self._d.eof


class _Brotli(_Stage):
    def __init__(self):
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.process(data, output_buffer_limit=CHUNK)
        while True:
            if out:
                yield out
            if self._d.is_finished() or self._d.can_accept_more_data():
                return
            out = self._d.process(b"", output_buffer_limit=CHUNK)

    def finished(self) -> bool:
        return self._d.is_finished()


def _stage_for(coding: str) -> _Stage:
    coding = coding.strip().lower()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Zlib(zlib.MAX_WBITS)
    if coding == "br":
        return _Brotli()
    if coding in ("", "identity"):
        return _Identity()
    raise BadEncoding(f"unsupported content encoding {coding!r}")


class BodyDecoder:
    """Feed raw (on-the-wire) chunks, get decoded bytes back; raises TooLarge as
    soon as raw or decoded bytes pass ``max_bytes``. Memory is bounded by
    ``max_bytes`` plus a few CHUNKs whatever the compression ratio."""

    def __init__(self, content_encoding: str | None, max_bytes: int, url: str | None = None):
        codings = [c for c in (content_encoding or "").split(",") if c.strip()]
        # Codings are listed in the order they were applied: undo the last first.
        self._stages = [_stage_for(c) for c in reversed(codings)] or [_Identity()]
        self._gzip_sniffed = not any(isinstance(s, _Zlib) for s in self._stages)
        self._nested = 0
        self.max_bytes = max_bytes
        self.url = url
        self.raw_bytes = 0
        self.decoded_bytes = 0
        self._parts: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        """Decode one raw chunk, keeping the decoded bytes."""
        self.raw_bytes += len(raw)
        if self.raw_bytes > self.max_bytes:
            raise TooLarge(f"body over {self.max_bytes} bytes (raw)", self.url)
        try:
            for piece in self._run(0, raw):
                self._keep(piece)
        except (zlib.error, brotli.error) as exc:
            raise BadEncoding(f"corrupt compressed body: {exc}", self.url) from exc

    def _run(self, index: int, data: bytes) -> Iterator[bytes]:
        for piece in self._stages[index].feed(data):
            if index + 1 == len(self._stages):
                piece = self._maybe_nest(piece)
                if index + 1 < len(self._stages):  # a nested gzip stage was just added
                    yield from self._run(index + 1, piece)
                    continue
                yield piece
            else:
                yield from self._run(index + 1, piece)

    def _maybe_nest(self, piece: bytes) -> bytes:
        """A gzip body whose content starts with gzip magic again (double
        compression by a misconfigured server, or a nested bomb): decode it too."""
        if self._gzip_sniffed:
            return piece
        self._gzip_sniffed = True
        if piece.startswith(GZIP_MAGIC) and self._nested < MAX_NESTED_GZIP:
            self._nested += 1
            self._stages.append(_Zlib(16 + zlib.MAX_WBITS))
            self._gzip_sniffed = False
        return piece

    def _keep(self, piece: bytes) -> None:
        self.decoded_bytes += len(piece)
        if self.decoded_bytes > self.max_bytes:
            self._parts.clear()
            raise TooLarge(f"body over {self.max_bytes} bytes (decoded)", self.url)
        self._parts.append(piece)

    def finish(self) -> bytes:
        """All decoded bytes; Truncated if a compressed stream ended early."""
        if not all(stage.finished() for stage in self._stages):
            raise Truncated("compressed body ended before its end marker", self.url)
        return b"".join(self._parts)


# --------------------------------------------------------------------------- content type

def media_type(content_type: str | None) -> str:
    """'text/html; charset=x' -> 'text/html' ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1).lower() if match else None


def check_html_type(content_type: str | None, url: str | None = None) -> None:
    """NotHTML unless the media type is HTML/XHTML (or absent: sniffed later)."""
    kind = media_type(content_type)
    if kind and kind not in HTML_TYPES:
        raise NotHTML(f"not an HTML page (content type {kind})", url)


def sniff_binary(body: bytes, declared_charset: str | None = None) -> str | None:
    """A name for binary content ('PNG image'...), or None if it may be text."""
    head = body[:SNIFF_BYTES]
    for magic, name in BINARY_MAGIC:
        if head.startswith(magic):
            return name
    if _bom_encoding(head) or (declared_charset or "").startswith(("utf-16", "utf-32")):
        return None
    if b"\x00" in head:
        return "binary data"
    return None


def check_not_binary(body: bytes, content_type: str | None, url: str | None = None) -> None:
    """NotHTML if the body is binary whatever the server says it is."""
    name = sniff_binary(body, header_charset(content_type))
    if name:
        raise NotHTML(f"binary content ({name}) served as {media_type(content_type) or 'no type'}",
                      url)


# --------------------------------------------------------------------------- charset

def _bom_encoding(head: bytes) -> str | None:
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return None


def _text_codec(name: str | None) -> str | None:
    """A normalised codec name for a text encoding, or None if unknown/not text."""
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def meta_charset(body: bytes) -> str | None:
    """Charset declared by <meta charset> or <meta http-equiv content=...charset=>."""
    match = _META_CHARSET.search(body[:META_SCAN_BYTES])
    if not match:
        return None
    name = _text_codec(match.group(1).decode("ascii", "replace"))
    # A meta tag readable as ASCII cannot truthfully announce UTF-16/32 (WHATWG rule).
    return "utf-8" if name and name.startswith(("utf-16", "utf-32")) else name


def _try(body: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_charset(body: bytes) -> str | None:
    """charset-normalizer's guess, or None. Among guesses about as clean as the
    best one, windows-1252 wins: it is the WHATWG default for the Western
    languages this tool reads, and short French/Spanish texts are otherwise
    often taken for Baltic or Central European code pages."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(body[:200_000]))
    if not matches:
        return None
    best = min(matches, key=lambda m: m.chaos)
    for match in matches:
        if WESTERN_DEFAULT in match.could_be_from_charset and match.chaos <= best.chaos + CHAOS_SLACK:
            return WESTERN_DEFAULT
    return _text_codec(matches[0].encoding)


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML body to (text, encoding). Order: BOM (definitive), HTTP
    header charset, <meta> charset, UTF-8, charset-normalizer detection. A
    declared charset the bytes contradict is passed over for the next source;
    nothing here raises on a wrong or unknown charset (last resort: the best
    candidate with errors='replace')."""
    bom = _bom_encoding(body[:4])
    if bom:
        return body.decode(bom, errors="replace"), bom
    header = _text_codec(header_charset(content_type))
    text = _try(body, header)  # the common, cheap case: the header is right
    if text is not None:
        return text, header
    meta = meta_charset(body)
    for codec in (meta, "utf-8"):
        text = _try(body, codec)
        if text is not None:
            return text, codec
    detected = detect_charset(body)
    text = _try(body, detected)
    if text is not None:
        return text, detected
    fallback = header or meta or detected or "cp1252"
    return body.decode(fallback, errors="replace"), fallback
