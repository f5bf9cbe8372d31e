"""Dates in ISO form from meta values and from bylines in French, Spanish
and English ("10 février 2016", "1er mars 2021", "3 de marzo de 2021",
"March 3, 2021", "3 March 2021")."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

MONTHS: dict[str, int] = {}
for _n, _names in enumerate([
        ("january", "jan", "janvier", "janv", "enero", "ene"),
        ("february", "feb", "fevrier", "fevr", "fev", "febrero"),
        ("march", "mar", "mars", "marzo"),
        ("april", "apr", "avril", "avr", "abril", "abr"),
        ("may", "mai", "mayo"),
        ("june", "jun", "juin", "junio"),
        ("july", "jul", "juillet", "juil", "julio"),
        ("august", "aug", "aout", "agosto", "ago"),
        ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "set"),
        ("october", "oct", "octobre", "octubre"),
        ("november", "nov", "novembre", "noviembre"),
        ("december", "dec", "decembre", "diciembre", "dic")], start=1):
    for _name in _names:
        MONTHS[_name] = _n

_MONTH = r"([a-z]{3,10})\.?"
_DAY_FIRST = re.compile(r"\b(\d{1,2})(?:er|st|nd|rd|th|º|°)?\s+(?:de\s+)?" + _MONTH + r",?\s+(?:de\s+|del\s+)?(\d{4})\b")
_MONTH_FIRST = re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})")
_SLASHED_YMD = re.compile(r"\b(\d{4})[/.](\d{1,2})[/.](\d{1,2})\b")
_URL_DATE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _make(y: int, m: int, d: int) -> str | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def parse_machine_date(value: str | None) -> str | None:
    """yyyy-mm-dd from an ISO-like meta value ('2016-02-10T08:00:00-05:00', '2016/02/10')."""
    if not value:
        return None
    m = _ISO.search(value) or _SLASHED_YMD.search(value)
    if m:
        return _make(*(int(x) for x in m.groups()))
    return parse_text_date(value)


def parse_text_date(text: str | None) -> str | None:
    """First date written with a month name in the text, as yyyy-mm-dd."""
    if not text:
        return None
    folded = _fold(text[:2000])
    candidates = []
    for m in _DAY_FIRST.finditer(folded):
        if m.group(2) in MONTHS:
            candidates.append((m.start(), int(m.group(3)), MONTHS[m.group(2)], int(m.group(1))))
            break
    for m in _MONTH_FIRST.finditer(folded):
        if m.group(1) in MONTHS:
            candidates.append((m.start(), int(m.group(3)), MONTHS[m.group(1)], int(m.group(2))))
            break
    for _, y, mo, d in sorted(candidates):
        made = _make(y, mo, d)
        if made:
            return made
    return None


def date_from_url(url: str | None) -> str | None:
    m = _URL_DATE.search(url or "")
    return _make(*(int(x) for x in m.groups())) if m else None
