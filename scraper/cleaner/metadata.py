"""Page metadata read from the parsed tree before extraction: meta tags,
JSON-LD, <html lang>, canonical link, title, site name, authors, date."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin

from lxml import etree

from ..textkeys import squash
from ..urls import domain_of
from .dates import date_from_url, parse_machine_date, parse_text_date
from .language import normalize_lang_tag

_WS = re.compile(r"\s+")
_TITLE_SEP = re.compile(r"\s+(?:[|•·»›~]|::|[-–—]{1,2}|:)\s+")
_ARTICLE_TYPES = re.compile(r"(?:Article|BlogPosting|Report|NewsArticle|OpinionNewsArticle|WebPage|Posting)$")
_BYLINE_CLASS = re.compile(r"(?:^|[\s_-])(?:byline|by-line|author|auteur|autor|entry-meta|post-meta|article-meta|"
                           r"meta-info|posted-on|dateline|date|time|published|fecha|firma|signature|credits?)"
                           r"(?:$|[\s_-])", re.I)
_AUTHOR_CLASS = re.compile(r"(?:^|[\s_-])(?:byline|by-line|author|auteur|autor|firma|signature|"
                           r"author-name|entry-author|post-author|writer)(?:$|[\s_-])", re.I)
_BY_PREFIX = re.compile(r"^\W*(?:(?:(?:more |all |other )?(?:articles|posts|stories)|written|posted|reported|story|words|text|texte|publié|écrit|rédigé|escrito|"
                        r"publicado|redactado)\s+)?(?:by|par|por|de|von|da|auteur|author|autor(?:a)?)\s*[:\-]?\s+", re.I)
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bet\b|\by\b|\be\b|\bund\b|\|)\s*", re.I)
_NOT_NAME = re.compile(r"@|https?://|www\.|\d{3,}|\b(?:staff|rédaction|redaction|redacción|editor(?:s|ial)?|"
                       r"admin|team|équipe|equipo|agency|agence|agencia|contributors?|guest)\b", re.I)
_DEK_CLASS = re.compile(r"(?:^|[\s_-])(?:sub-?headline|sub-?title|sub-?head|dek|deck|standfirst|strapline|chapo|chapeau|"
                        r"entradilla|bajada|sumario|excerpt|summary|teaser|kicker)(?:$|[\s_-])", re.I)
_NAME_TOKEN = re.compile(r"^[^\W\d_][\w.'’-]*$")
_BY_WORDS = {"by", "par", "por", "von", "author", "auteur", "autor", "autora", "and", "et"}
_NAME_PARTICLES = {"de", "du", "des", "da", "del", "della", "der", "van", "von", "la", "le", "bin", "al", "el", "y", "di"}


@dataclass
class PageMeta:
    """What the page declares about itself (all optional)."""
    meta: dict[str, str] = field(default_factory=dict)
    jsonld: list[dict] = field(default_factory=list)
    html_lang: str | None = None
    title_tag: str | None = None
    h1: list[str] = field(default_factory=list)
    canonical: str | None = None
    tree: object = None  # the parsed page, for what is read only when needed (links)
    base_url: str | None = None

    def absolute(self, href: str) -> str:
        return urljoin(self.base_url or "", href)
    time_value: str | None = None  # first <time datetime=...>
    after_h1: list[str] = field(default_factory=list)  # short texts right after the first <h1>

    @cached_property
    def _marked(self) -> tuple[list[str], list[str], list[str]]:
        return _collect_marked(self.tree) if self.tree is not None else ([], [], [])

    @property
    def dek_texts(self) -> list[str]:
        """Texts of subtitle/standfirst/excerpt elements (read on demand, like the two below)."""
        return self._marked[0]

    @property
    def byline_texts(self) -> list[str]:
        """Short texts of elements whose class/id/rel/itemprop says byline, author or date."""
        return self._marked[1]

    @property
    def author_texts(self) -> list[str]:
        """Those of them that say author."""
        return self._marked[2]

    @cached_property
    def anchors(self) -> list[tuple[str, str]]:
        """(text, raw href) of the page's links, in document order (read on demand:
        only a page with an attribution notice needs them)."""
        if self.tree is None:
            return []
        return [(_text(a), a.get("href").strip()) for a in _LINKS(self.tree)[:5000]]

    def first(self, *keys: str) -> str | None:
        for key in keys:
            value = self.meta.get(key)
            if value:
                return value
        return None


def _text(el) -> str:
    return _WS.sub(" ", el.text_content()).strip()


def read_page(tree, base_url: str | None) -> PageMeta:
    """One pass over the tree to collect what the metadata needs."""
    pm = PageMeta(base_url=base_url, tree=tree)
    root = tree.getroottree().getroot()
    pm.html_lang = root.get("lang") or root.get("xml:lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    for el in tree.iter("meta", "script", "title", "h1", "link", "time"):
        tag = el.tag
        if tag == "meta":
            key = (el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or "").lower()
            value = el.get("content")
            if key and value and key not in pm.meta:
                pm.meta[key] = _WS.sub(" ", value).strip()
        elif tag == "script" and (el.get("type") or "").lower() == "application/ld+json":
            pm.jsonld.extend(_jsonld_objects(el.text or ""))
        elif tag == "title" and pm.title_tag is None:
            pm.title_tag = _text(el)
        elif tag == "h1" and len(pm.h1) < 3:
            t = _text(el)
            if t:
                pm.h1.append(t)
        elif tag == "link" and "canonical" in (el.get("rel") or "").lower().split() and not pm.canonical:
            href = (el.get("href") or "").strip()
            if href:
                pm.canonical = urljoin(base_url or "", href)
        elif tag == "time" and not pm.time_value:
            pm.time_value = el.get("datetime") or None
    _collect_after_h1(tree, pm)
    if not pm.canonical and pm.meta.get("og:url"):
        pm.canonical = urljoin(base_url or "", pm.meta["og:url"])
    return pm


_LINKS = etree.XPath("//a[@href]")
_FOLLOWING = etree.XPath("following::*[position() <= 40]")
_MARKED = etree.XPath("//body//*[@class or @id or @itemprop or @rel]")


def _collect_marked(tree) -> tuple[list[str], list[str], list[str]]:
    """(standfirst texts, byline/date texts, author texts) from elements whose
    class/id/rel/itemprop names them. One pass over the marked elements, done
    only when JSON-LD and meta tags did not settle the question."""
    deks: list[str] = []
    bylines: list[str] = []
    authors: list[str] = []
    for el in _MARKED(tree):
        if el.tag in ("script", "style"):
            continue
        marks = " ".join(filter(None, (el.get("class"), el.get("id"), el.get("rel"), el.get("itemprop"))))
        if _DEK_CLASS.search(marks) and len(deks) < 10:
            deks.append(_text(el))
        if not _BYLINE_CLASS.search(marks):
            continue
        text = _text(el)
        if not text or len(text) > 200:
            continue
        if len(bylines) < 40:
            bylines.append(text)
        if _AUTHOR_CLASS.search(marks) or el.get("rel") == "author" or el.get("itemprop") == "author":
            if len(text) <= 120 and len(authors) < 20:
                authors.append(text)
    return deks, bylines, authors


def _collect_after_h1(tree, pm: PageMeta, limit: int = 25) -> None:
    """The first short text nodes after the first <h1>: where bylines and
    datelines stand when no class names them."""
    h1 = next(tree.iter("h1"), None)
    if h1 is None:
        return
    chunks = [h1.tail]
    for el in _FOLLOWING(h1):
        if el.tag not in ("script", "style") and isinstance(el.tag, str):
            chunks += (el.text, el.tail)
    for chunk in chunks:
        chunk = _WS.sub(" ", chunk or "").strip()
        if chunk and len(chunk) <= 200:
            pm.after_h1.append(chunk)
            if len(pm.after_h1) >= limit:
                return


def _jsonld_objects(raw: str) -> list[dict]:
    try:
        data = json.loads(raw.strip())
    except (ValueError, RecursionError):
        return []
    out: list[dict] = []
    stack = [data]
    while stack and len(out) < 50:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            out.append(item)
            if isinstance(item.get("@graph"), list):
                stack.extend(item["@graph"])
    return out


def _types(obj: dict) -> list[str]:
    t = obj.get("@type")
    return [str(x) for x in t] if isinstance(t, list) else [str(t or "")]


def article_ld(pm: PageMeta) -> dict:
    """The JSON-LD object describing the article (first Article-like one)."""
    for obj in pm.jsonld:
        if any(_ARTICLE_TYPES.search(t) and t != "WebPage" for t in _types(obj)):
            return obj
    for obj in pm.jsonld:
        if "WebPage" in _types(obj) and (obj.get("headline") or obj.get("author")):
            return obj
    return {}


def _ld_name(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for v in value[:10] for n in _ld_name(v)]
    return []


# ------------------------------------------------------------------- site
def site_name(pm: PageMeta, url: str | None) -> str | None:
    ld = article_ld(pm)
    for cand in (pm.first("og:site_name"), *(_ld_name(ld.get("publisher"))[:1]),
                 pm.first("application-name", "apple-mobile-web-app-title", "twitter:site")):
        if cand and not cand.startswith("@") and len(cand) <= 80:
            return cand.strip()
    for obj in pm.jsonld:
        if "WebSite" in _types(obj) and isinstance(obj.get("name"), str):
            return obj["name"].strip()
    suffix = _title_suffix(pm)
    if suffix:
        return suffix
    return domain_of(url)


def _title_suffix(pm: PageMeta) -> str | None:
    if not pm.title_tag:
        return None
    parts = _TITLE_SEP.split(pm.title_tag)
    if len(parts) >= 2 and len(parts[-1].split()) <= 4:
        return parts[-1].strip()
    return None


# ------------------------------------------------------------------- title
def title(pm: PageMeta, site: str | None, domain: str | None) -> str | None:
    """The headline without the site-name suffix or prefix."""
    ld = article_ld(pm)
    candidates = [ld.get("headline") if isinstance(ld.get("headline"), str) else None,
                  pm.first("og:title", "twitter:title"), pm.title_tag, *pm.h1]
    raw = next((c.strip() for c in candidates if c and c.strip()), None)
    if raw is None:
        return None
    for h in pm.h1:
        if squash(h) and squash(h) == squash(raw):
            return h
    return strip_site(raw, site, domain, pm.h1)


def strip_site(raw: str, site: str | None, domain: str | None, h1: list[str]) -> str:
    """Drop a leading or trailing segment that names the site ('Title | Site',
    'Site - Title'); a segment equal to the page's <h1> wins outright."""
    seps = list(_TITLE_SEP.finditer(raw))
    if not seps:
        return raw
    bounds = [0] + [m.start() for m in seps] + [len(raw)]
    starts = [0] + [m.end() for m in seps]
    parts = [raw[starts[i]:bounds[i + 1]].strip() for i in range(len(starts))]
    for h in h1:
        for p in parts:
            if squash(p) and squash(p) == squash(h):
                return p
    own = {squash(site), squash(domain), squash((domain or "").rsplit(".", 1)[0])} - {""}
    first, last = 0, len(parts)
    while last - first > 1 and _is_own(parts[last - 1], own):
        last -= 1
    while last - first > 1 and _is_own(parts[first], own):
        first += 1
    return raw[starts[first]:bounds[last]].strip()


def _is_own(part: str, own: set[str]) -> bool:
    sq = squash(part)
    return bool(sq) and any(sq == o or sq.startswith(o) or o.startswith(sq) and len(sq) >= 4 for o in own)


# ------------------------------------------------------------------- authors
def clean_author_names(values: list[str], exclude: set[str]) -> list[str]:
    """Split, strip 'By/Par/Por', drop non-names and duplicates, keep order."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        value = re.split(r"\s[|•·–—/]\s|\s-\s", value)[0]
        value = _BY_PREFIX.sub("", value.strip())
        for part in _NAME_SPLIT.split(value):
            name = _clean_name(part)
            key = squash(name)
            if name and key not in seen and key not in exclude:
                seen.add(key)
                out.append(name)
    return out


def _clean_name(part: str) -> str | None:
    part = _BY_PREFIX.sub("", part.strip(" \t:;,.-–—|()[]*\"'“”"))
    part = re.sub(r"^(?:dr|prof|mr|mrs|ms|m|mme)\.?\s+", lambda m: m.group(0), part, flags=re.I)
    part = part.strip(" \t:;,.-–—|()[]*")
    if not part or _NOT_NAME.search(part) or parse_text_date(part):
        return None
    words = part.split()
    if not 1 <= len(words) <= 6 or part.casefold() in _NAME_PARTICLES | _BY_WORDS:
        return None
    if not all(_NAME_TOKEN.match(w) for w in words):
        return None
    if not any(w[0].isupper() for w in words if w.lower() not in _NAME_PARTICLES):
        return None
    return " ".join(words)


def authors(pm: PageMeta, byline_blocks: list[str], exclude: set[str]) -> list[str]:
    """Authors from JSON-LD, then meta tags, then byline elements, then 'By/Par/Por' lines."""
    ld = article_ld(pm)
    sources = (  # tried in order, each only if the ones before gave no name
        lambda: _ld_name(ld.get("author")) + _ld_name(ld.get("creator")),
        lambda: [v for v in (pm.first("author", "article:author", "dc.creator", "dcterms.creator",
                                      "parsely-author", "sailthru.author", "byl", "citation_author"),)
                 if v and not v.startswith("http")],
        lambda: [t for t in pm.author_texts if len(t.split()) <= 12],
        lambda: byline_blocks,
    )
    for values in sources:
        names = clean_author_names(values(), exclude)
        if names:
            return names
    return []


# ------------------------------------------------------------------- date
def published(pm: PageMeta, head_texts: list[str], url: str | None) -> str | None:
    """Publication date: JSON-LD, meta tags, <time>, byline text (fr/es/en month names), URL."""
    ld = article_ld(pm)
    for value in (ld.get("datePublished"), ld.get("dateCreated"),
                  pm.first("article:published_time", "og:published_time", "datepublished", "date",
                           "pubdate", "publishdate", "publish-date", "dc.date", "dc.date.issued",
                           "dcterms.date", "dcterms.created", "sailthru.date", "parsely-pub-date",
                           "citation_publication_date", "article.published", "og:article:published_time"),
                  pm.time_value):
        if isinstance(value, str):
            found = parse_machine_date(value)
            if found:
                return found
    for text in (*pm.byline_texts, *head_texts, *joined_chunks(pm.after_h1)):
        found = parse_text_date(text)
        if found:
            return found
    return date_from_url(url) or parse_machine_date(ld.get("dateModified") if isinstance(ld.get("dateModified"), str) else None)


_BY_WORD = re.compile(r"^\W{0,2}(?:written |posted |écrit |escrito )?(?:by|par|por)\s*:?$", re.I)
_BY_LINE = re.compile(r"^\W{0,2}(?:written |posted |écrit |escrito )?(?:by|par|por)\s*:?\s+\S", re.I)


def byline_candidates(texts: list[str]) -> list[str]:
    """Texts that read 'By/Par/Por <names>': a chunk that starts so, or the
    keyword alone in its element followed by the next chunk (a linked name)."""
    out = []
    for i, text in enumerate(texts):
        if _BY_LINE.match(text):
            out.append(text)
        elif _BY_WORD.match(text) and i + 1 < len(texts):
            out.append(f"{text} {texts[i + 1]}")
    return out


def joined_chunks(chunks: list[str]) -> list[str]:
    """Neighbouring chunks joined in pairs, so 'Par <a>X</a>, le 3 mars 2021' reads whole."""
    return [" ".join(chunks[i:i + 3]) for i in range(len(chunks))]


# ------------------------------------------------------------------- language
def page_language(pm: PageMeta, content_language: str | None = None) -> str | None:
    for value in (pm.html_lang, pm.first("og:locale"), pm.first("content-language"), content_language,
                  pm.first("language", "dc.language", "inlanguage")):
        lang = normalize_lang_tag(value)
        if lang:
            return lang
    return None
