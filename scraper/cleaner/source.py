"""The original source of a republished piece, and its URL.

Evidence, strongest first: an attribution notice (its captured name and its
link), the copyright line's holder, a canonical link to another domain.
A source that names the site itself means the piece is the site's own."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..textkeys import squash
from ..urls import domain_of

_URL = re.compile(r"https?://\S+|\bwww\.\S+", re.I)
_DOMAIN_ONLY = re.compile(r"^(?:[\w-]+\.)+[a-z]{2,}$", re.I)
_LEAD = re.compile(r"^(?:the (?:website|site|blog|magazine|newspaper|journal) (?:of )?|(?:le|la) (?:site|blog|revue|"
                   r"journal|magazine)(?: (?:de|du|d['’]))?\s*|el (?:sitio|blog|diario|periódico)(?: (?:de|del))?\s*|"
                   r"(?:our|notre|nuestro) (?:partner|partenaire|socio)\W*s? (?:website|site|sitio)\s*)", re.I)
_TRAIL = re.compile(r"(?:\s+(?:here|ici|aquí|aqui|website|on|in|le|el|at))+\W*$|[\s.,;:!)\]»”\"']+$", re.I)
_GENERIC = {"here", "ici", "aqui", "aquí", "this link", "ce lien", "este enlace", "our partner", "website", ""}
_APPOSITIVE = re.compile(r",\s+(?:an?|the|its|un|une|le|la|les|el|los|las|uno|una)\s.*$", re.I)
_YEAR = re.compile(r"^\(?\d{4}(?:\s*[-–]\s*\d{4})?\)?$")
_RIGHTS = re.compile(r"all rights reserved|tous droits réservés|todos los derechos reservados|"
                     r"may not be reprinted.*|reprinted with permission.*|licen[cs]ed? under.*", re.I)


@dataclass(frozen=True)
class Origin:
    source: str | None
    url: str | None


def is_own(source: str | None, site: str | None, domain: str | None) -> bool:
    """Does ``source`` name the site itself (by name or domain)?"""
    s = squash(_host_label(source) if source and _DOMAIN_ONLY.match(source) else source)
    if not s:
        return False
    own = {squash(site), squash(domain), squash((domain or "").rsplit(".", 1)[0])} - {""}
    return any(s == o or (len(s) >= 5 and (s.startswith(o) or o.startswith(s))) for o in own)


def _host_label(value: str) -> str:
    host = value.lower()
    host = host[4:] if host.startswith("www.") else host
    return host.rsplit(".", 1)[0]


def clean_source_name(raw: str | None) -> tuple[str | None, str | None]:
    """(name, url) from a captured attribution: 'CounterPunch.' -> 'CounterPunch';
    a URL gives its domain as the name and itself as the URL."""
    if not raw:
        return None, None
    raw = raw.strip()
    m = _URL.search(raw)
    if m:
        url = m.group(0).rstrip(".,;)»”\"'")
        url = url if url.lower().startswith("http") else "http://" + url
        return domain_of(url), url
    name = _LEAD.sub("", raw)
    name = _TRAIL.sub("", name).strip(" \"'“”«»‘’*")
    name = re.split(r"\s+(?:under|with|sous|avec|bajo|con)\s+", name)[0]
    name = _APPOSITIVE.sub("", name).strip()
    if name.casefold() in _GENERIC or len(name) > 80 or not re.search(r"\w", name):
        return None, None
    return name, None


def link_for(name: str | None, notice: str, anchors: list[tuple[str, str]], absolute=lambda h: h) -> str | None:
    """The href of the notice's link. Among anchors whose text is the source
    name, the most specific (longest path: an article, not a home page);
    else an anchor whose text is a phrase of the notice ('here', 'Read the original article')."""
    name_sq, notice_sq = squash(name), squash(notice)
    named, phrased = [], []
    for text, href in anchors:
        t = squash(text)
        if not t or not (name_sq and t == name_sq or len(t) >= 3 and t in notice_sq):
            continue
        href = absolute(href)
        if not href.lower().startswith("http"):
            continue
        if name_sq and t == name_sq:
            named.append(href)
        elif len(t) >= 3 and t in notice_sq:
            phrased.append(href)
    if named:
        return max(named, key=lambda h: len(urlsplit(h).path.strip("/")))
    return phrased[-1] if phrased else None


def holder_candidates(holder: str, authors: list[str]) -> list[str]:
    """Names in a copyright line that are neither years nor the authors."""
    holder = _RIGHTS.sub("", holder)
    holder = re.sub(r"^(?:copyright|©|\(c\))\s*", "", holder.strip(), flags=re.I)
    author_keys = {squash(a) for a in authors}
    out = []
    for part in re.split(r"\s*(?:,|;|\||\.\s|\s[-–—]\s|\band\b|\bet\b|\by\b)\s*", holder):
        part = part.strip(" .©()")
        part = re.sub(r"^\d{4}\s+|\s+\d{4}$", "", part).strip(" .()")
        if part and not _YEAR.match(part) and squash(part) not in author_keys and re.search(r"[^\W\d]", part):
            out.append(part)
    return out
