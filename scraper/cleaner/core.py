"""The cleaning pipeline: decode, parse, read metadata, extract the body
with trafilatura, drop notices by rule, drop the site's template paragraphs,
join cut paragraphs, find the original source, detect the body language."""
from __future__ import annotations

import re
from collections.abc import Collection

from ..errors import EmptyArticle, NotHTMLContent
from ..models import Article, Removed
from ..textkeys import content_hash, paragraph_key, squash
from ..urls import domain_of
from . import metadata as meta
from .decode import decode_html
from .extract import Block, extract_blocks, parse_html
from .language import body_sample, detect_language
from .notices import Match, Rule, RuleSet, apply_rules, builtin_rules, zones
from .paragraphs import join_splits
from .source import Origin, clean_source_name, holder_candidates, is_own, link_for

MAX_HTML_CHARS = 16_000_000   # bigger pages are refused, not parsed for minutes
MIN_WORDS = 5                 # fewer words left is no article (a lone menu link, a caption)
_MARKUP = re.compile(r"<\s*[a-zA-Z!?/]")


def clean(html: str | bytes, url: str | None = None, *, template_keys: Collection[str] = (),
          fetched_at: str | None = None, final_url: str | None = None, charset: str | None = None,
          content_language: str | None = None, rules: RuleSet | None = None) -> Article:
    """Clean one page into an Article. No I/O; the same input gives the same record.

    ``html``: bytes are decoded by ``charset`` (e.g. from HTTP), the page's BOM or
    <meta charset>, then detection; str is used as is. ``template_keys``: paragraph
    keys the store has seen on many pages of this site (dropped as rule 'template').
    ``rules``: notice rules (default: the bundled ones). Raises NotHTMLContent or
    EmptyArticle (both CleanError)."""
    text = _as_text(html, charset)
    tree = parse_html(text)
    if tree is None:
        raise NotHTMLContent("not an HTML page (could not be parsed)")
    base = final_url or url
    page = meta.read_page(tree, base)
    blocks = extract_blocks(tree, base)
    if not blocks:
        raise EmptyArticle("no article body found")
    return _build(blocks, page, url, base, rules or builtin_rules(), template_keys,
                  fetched_at, final_url, content_language)


def _as_text(html: str | bytes, charset: str | None) -> str:
    if isinstance(html, (bytes, bytearray)):
        if not bytes(html).strip():
            raise NotHTMLContent("empty input")
        html = decode_html(bytes(html), charset)
    if not isinstance(html, str):
        raise NotHTMLContent(f"expected str or bytes, got {type(html).__name__}")
    if not html.strip():
        raise NotHTMLContent("empty input")
    if len(html) > MAX_HTML_CHARS:
        raise NotHTMLContent(f"page too large to clean ({len(html) / 1e6:.1f} M characters, "
                             f"limit {MAX_HTML_CHARS / 1e6:.0f} M)")
    if "\x00" in html[:4096] or not _MARKUP.search(html[:100_000]):
        raise NotHTMLContent("no HTML markup found")
    return html


def _build(blocks: list[Block], page: meta.PageMeta, url, base, rules: RuleSet, template_keys,
           fetched_at, final_url, content_language) -> Article:
    domain = domain_of(base or page.canonical)
    site = meta.site_name(page, base or page.canonical)
    exclude = {squash(site), squash(domain)} - {""}
    head_end, _ = zones(blocks)
    head_texts = [b.text for b in blocks[:head_end]]
    bylines = meta.byline_candidates([*head_texts, *page.after_h1[:12]])
    authors = meta.authors(page, bylines, exclude)
    matches = apply_rules(rules, blocks, authors)
    if not authors:
        authors = meta.authors(page, _byline_evidence(blocks, matches), exclude)
    origin = find_origin(blocks, matches, page, site, domain, authors)
    echo_metadata(blocks, matches, page, [meta.title(page, site, domain), site, domain, origin.source, *authors])
    kept, removed = _split(blocks, matches, template_keys)
    kept, _joins = join_splits(kept)
    paragraphs = [b.text for b in kept]
    body = "\n\n".join(paragraphs)
    if len(body.split()) < MIN_WORDS:
        raise EmptyArticle("no article body found (only page furniture)")
    return Article(
        url=url or page.canonical, final_url=final_url, canonical_url=page.canonical,
        site=site, domain=domain, title=meta.title(page, site, domain), authors=tuple(authors),
        published=meta.published(page, head_texts, base), language=detect_language(body_sample(paragraphs)),
        page_language=meta.page_language(page, content_language),
        original_source=origin.source, original_url=origin.url, text=body, removed=tuple(removed),
        word_count=len(body.split()), content_hash=content_hash(body), fetched_at=fetched_at,
    )


_ECHO = Rule(id="meta.echo", kind="metadata", regex=re.compile(""))
_DEK = Rule(id="meta.dek", kind="dek", regex=re.compile(""))


def echo_metadata(blocks: list[Block], matches: list[Match | None], page: meta.PageMeta,
                  values: list[str | None]) -> None:
    """Drop lines before or after the body that only repeat metadata: the
    title, site, original source or an author alone on a line ('CounterPunch',
    'Jeanne MARTIN'), and the standfirst (a subtitle/excerpt element, or a
    heading equal to the page description)."""
    head_end, tail_start = zones(blocks, [m is not None for m in matches])
    names = {squash(v) for v in values if v} - {""}
    deks = None  # standfirst texts, read from the page only if a line before the body needs them
    description = squash(page.first("og:description", "description", "twitter:description"))
    for i, block in enumerate(blocks):
        if matches[i] is not None or head_end <= i < tail_start:
            continue
        sq = squash(block.text)
        if len(block.text.split()) <= 12 and sq in names:
            matches[i] = Match(i, _ECHO, {})
        elif i < head_end:
            if deks is None:
                deks = {squash(t) for t in page.dek_texts} - {""}
            if sq in deks or (block.kind == "head" and sq and sq == description):
                matches[i] = Match(i, _DEK, {})


def _byline_evidence(blocks: list[Block], matches: list[Match | None]) -> list[str]:
    """Texts of blocks dropped as bylines ('Articles Par : X', 'By X')."""
    return [b.text for b, m in zip(blocks, matches) if m is not None and m.rule.kind == "byline"]


def _split(blocks, matches, template_keys) -> tuple[list[Block], list[Removed]]:
    kept, removed = [], []
    for block, m in zip(blocks, matches):
        if m is not None:
            rule = f"{m.groups['after']}:after" if "after" in m.groups else m.rule.id
            removed.append(Removed(block.text, rule))
        elif template_keys and paragraph_key(block.text) in template_keys:
            removed.append(Removed(block.text, "template"))
        else:
            kept.append(block)
    return kept, removed


def find_origin(blocks: list[Block], matches: list[Match | None], page: meta.PageMeta,
                site: str | None, domain: str | None, authors: list[str]) -> Origin:
    """Original source and URL from attribution notices, then a byline naming
    the outlet ('By X / Outlet'), then the copyright line in the tail, then a
    canonical link to another domain."""
    found = [m for m in matches if m is not None and "after" not in m.groups]
    for m in (m for m in found if m.rule.kind == "source_attribution"):
        name, url = clean_source_name(m.groups.get("source"))
        url = url or link_for(name, blocks[m.index].text, page.anchors, page.absolute)
        name = name or domain_of(url)
        if name:
            return Origin(None, None) if is_own(name, site, domain) else Origin(name, url)
    for m in (m for m in found if m.rule.kind == "byline" and m.groups.get("source")):
        name, url = clean_source_name(m.groups["source"])   # 'By Jane Doe / Common Dreams'
        if name:
            return Origin(None, None) if is_own(name, site, domain) else Origin(name, url)
    _, tail_start = zones(blocks, [m is not None for m in matches])
    for m in (m for m in found if m.rule.kind == "copyright" and m.index >= tail_start):
        names = holder_candidates(m.groups.get("holder", blocks[m.index].text), authors)
        if names:
            return Origin(None, None) if any(is_own(n, site, domain) for n in names) else Origin(names[0], None)
    canon = domain_of(page.canonical)
    if canon and domain and not _same_site(canon, domain):
        return Origin(canon, page.canonical)
    return Origin(None, None)


def _same_site(a: str, b: str) -> bool:
    return a == b or a.endswith("." + b) or b.endswith("." + a)
