"""Main content with trafilatura, turned into a list of text blocks.

Settings chosen by measurement on the article-extraction benchmark
(benchmarks/bench_clean.py): ``fast=True`` (no fallback extractors) scores
higher than the defaults and leaves time for our own passes.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement

TRAFILATURA_OPTIONS = dict(fast=True, include_comments=False, include_tables=True,
                           favor_precision=False, with_metadata=False)

_WS = re.compile(r"[ \t\r\f\v\u00a0\u2009\u202f]+")

# trafilatura logs every discarded page at WARNING; the cleaner raises instead.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Block:
    """One line of extracted text and the element kind it came from
    ('p', 'head', 'item', 'quote', 'row', 'code' ...)."""
    kind: str
    text: str


# What lxml and trafilatura raise on pathological markup.
_PARSER_ERRORS = (ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError,
                  etree.LxmlError, UnicodeError)


def parse_html(html: str) -> HtmlElement | None:
    """Parse with trafilatura's loader (same repairs as its own pipeline);
    None if the markup cannot be parsed."""
    from trafilatura.utils import load_html

    try:
        return load_html(html)
    except _PARSER_ERRORS:
        return None


def extract_blocks(tree: HtmlElement, url: str | None) -> list[Block]:
    """Run trafilatura on the parsed tree and return its body as blocks
    ([] when it finds none or fails on the markup)."""
    from trafilatura import bare_extraction

    try:
        doc = bare_extraction(tree, url=url, **TRAFILATURA_OPTIONS)
        if doc is None or doc.body is None:
            return []
        return body_blocks(doc.body)
    except _PARSER_ERRORS:
        return []


def body_blocks(body) -> list[Block]:
    """One block per text line of each top-level element, rendered by
    trafilatura's own text serialiser (spacing, lists and tables as in
    ``trafilatura.extract``)."""
    from trafilatura.xml import xmltotxt

    kinds = {"list": "item", "table": "row"}
    blocks: list[Block] = []
    _add_lines(blocks, "p", body.text)
    for child in body:
        tail, child.tail = child.tail, None
        if isinstance(child.tag, str):
            kind = kinds.get(child.tag, child.tag)
            _add_lines(blocks, kind, xmltotxt(child, False))
        _add_lines(blocks, "p", tail)
    return blocks


def _add_lines(blocks: list[Block], kind: str, text: str | None) -> None:
    for line in (text or "").split("\n"):
        line = _WS.sub(" ", line).strip()
        if line:
            blocks.append(Block(kind, _strip_bullet(line) if kind == "item" else line))


def _strip_bullet(line: str) -> str:
    return line[2:] if line.startswith("- ") else line
