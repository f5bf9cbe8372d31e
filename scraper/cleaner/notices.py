"""The notices rules engine.

Rules are data: ``rules/*.toml`` (one file per language plus ``common``),
each rule with an ``id``, a ``kind`` and a regular expression matched
against one block of extracted text. A rule matches the *shape* of a notice:
how the block starts, how long it is (``max_words``) and where it stands
(``where``: ``any``, ``head`` = before the body, ``tail`` = after it). So a
body paragraph that says "disclaimer" or "source" in passing stays.

Rule fields::

    id          unique id, recorded in Article.removed
    kind        source_attribution, copyright, disclaimer, permission, fair_use,
                bio, byline, newsletter, related, donation, share, follow,
                translation_banner, tags, contact, caption, credit, ...
    pattern     Python regex (case-insensitive unless ``case = true``);
                named groups ``source`` / ``url`` capture the original source
    max_words   the block has at most this many words (default 60)
    min_words   at least this many (default 1)
    where       any | head | tail (default any)
    kinds       element kinds it applies to (default: all; e.g. ["head"] = headings)
    then        "list": also drop the short lines that follow (related lists)
    cut         true: matched in the tail, everything after it goes too
    author      true: the block must start with one of the article's authors
                (such rules apply in the second half of the page, tail or not)

A named group ``byname`` in a pattern must contain one of the article's
authors for the rule to match ("..., write Jane Doe and John Roe.").
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError
from ..textkeys import squash
from .extract import Block

WHERE = ("any", "head", "tail")
_WORD = re.compile(r"\w+")
_TERMINAL = re.compile(r"[.!?…:;»\"”’)\]]\s*$")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    regex: re.Pattern
    max_words: int = 60
    min_words: int = 1
    where: str = "any"
    kinds: frozenset[str] = frozenset()
    then: str | None = None
    cut: bool = False
    author: bool = False


@dataclass(frozen=True)
class Match:
    index: int
    rule: Rule
    groups: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    _by_words: dict = field(default_factory=dict, compare=False, repr=False)

    def __add__(self, other: "RuleSet") -> "RuleSet":
        return RuleSet(self.rules + other.rules)

    def applicable(self, anywhere: bool, words: int) -> tuple[Rule, ...]:
        """The rules valid anywhere (or only before/after the body) whose word
        limits admit a block of ``words`` words, in file order; memoised, as
        most of a page's blocks are too long for most rules."""
        key = (anywhere, words)
        found = self._by_words.get(key)
        if found is None:
            found = tuple(r for r in self.rules if (r.where == "any") == anywhere
                          and r.min_words <= words <= r.max_words)
            self._by_words[key] = found
        return found


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


# ------------------------------------------------------------------ loading
_ALLOWED = {"id", "kind", "pattern", "max_words", "min_words", "where", "kinds", "then", "cut",
            "case", "author", "note", "examples"}


def parse_rules(data: dict, origin: str) -> RuleSet:
    """Validate and compile the rules of one TOML document."""
    rules = []
    for i, raw in enumerate(data.get("rule", [])):
        where = f"{origin}: rule #{i + 1}"
        unknown = set(raw) - _ALLOWED
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("id", "kind", "pattern"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ConfigError(f"{where}: '{key}' is required (a non-empty string)")
        if raw.get("where", "any") not in WHERE:
            raise ConfigError(f"{where} ({raw['id']}): 'where' must be one of {WHERE}")
        flags = 0 if raw.get("case") else re.IGNORECASE
        try:
            regex = re.compile(raw["pattern"], flags)
        except re.error as exc:
            raise ConfigError(f"{where} ({raw['id']}): bad pattern: {exc}") from exc
        rules.append(Rule(
            id=raw["id"], kind=raw["kind"], regex=regex,
            max_words=int(raw.get("max_words", 60)), min_words=int(raw.get("min_words", 1)),
            where=raw.get("where", "any"), kinds=frozenset(raw.get("kinds", ())),
            then=raw.get("then"), cut=bool(raw.get("cut", False)), author=bool(raw.get("author", False)),
        ))
    ids = [r.id for r in rules]
    dupes = {x for x in ids if ids.count(x) > 1}
    if dupes:
        raise ConfigError(f"{origin}: duplicate rule id(s) {sorted(dupes)}")
    return RuleSet(tuple(rules))


def load_rules_file(path: str | Path) -> RuleSet:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse_rules(data, str(path))


@lru_cache(maxsize=1)
def builtin_rules() -> RuleSet:
    """All bundled rule files (common, en, fr, es...), in file-name order."""
    folder = resources.files("scraper.cleaner") / "rules"
    out = RuleSet(())
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out = out + parse_rules(tomllib.loads(entry.read_text(encoding="utf-8")), entry.name)
    return out


# ---------------------------------------------------------------- matching
def zones(blocks: Sequence[Block], dropped: Sequence[bool] | None = None) -> tuple[int, int]:
    """(head_end, tail_start): blocks before head_end stand before the body,
    blocks from tail_start on after it. The body runs from the first to the
    last paragraph of 30+ words that no rule has dropped yet; the head is at
    most 12 blocks and the tail starts no earlier than 60% of the page."""
    n = len(blocks)
    dropped = dropped or [False] * n
    long_ix = [i for i, b in enumerate(blocks)
               if not dropped[i] and b.kind != "head" and word_count(b.text) >= 30]
    if not long_ix:
        return min(n, 3), max(0, n - 3)
    return min(long_ix[0], 12), max(long_ix[-1], int(n * 0.6))


def closing_notice(matches: Sequence[Match | None]) -> int | None:
    """Index of the first cutting notice in the second half of the page."""
    n = len(matches)
    for i in range(n // 2, n):
        m = matches[i]
        if m is not None and m.rule.cut:
            return i
    return None


def _in_zone(rule: Rule, i: int, head_end: int, tail_start: int, n: int) -> bool:
    if rule.author:
        return i >= max(head_end, min(tail_start, n // 2))
    if rule.where == "head":
        return i < head_end
    if rule.where == "tail":
        return i >= tail_start
    return True


def match_block(rules: RuleSet, anywhere: bool, blocks: Sequence[Block], i: int, head_end: int,
                tail_start: int, authors: Sequence[str]) -> Match | None:
    block = blocks[i]
    for rule in rules.applicable(anywhere, word_count(block.text)):
        if rule.kinds and block.kind not in rule.kinds:
            continue
        if not _in_zone(rule, i, head_end, tail_start, len(blocks)):
            continue
        if rule.author and not _starts_with_author(block.text, authors):
            continue
        m = rule.regex.search(block.text)
        if m and (m.groupdict().get("byname") is None or _names_author(m.group("byname"), authors)):
            return Match(i, rule, {k: v for k, v in m.groupdict().items() if v})
    return None


def _names_author(text: str, authors: Sequence[str]) -> bool:
    sq = squash(text)
    return any(squash(a) and squash(a) in sq for a in authors)


def _starts_with_author(text: str, authors: Sequence[str]) -> bool:
    low = text.lstrip("*_ ").casefold()
    return any(a and low.startswith(a.casefold()) for a in authors)


def is_listish(block: Block) -> bool:
    """A line of a related-articles list: an item, or a short title-like line."""
    if block.kind == "item":
        return True
    return word_count(block.text) <= 20 and not _TERMINAL.search(block.text)


def apply_rules(rules: RuleSet, blocks: Sequence[Block], authors: Sequence[str] = ()) -> list[Match | None]:
    """For each block, the Match that drops it, or None to keep it.

    Pass 1 applies the rules valid anywhere; the body's extent is then
    measured on what is left, and pass 2 applies the head and tail rules.
    Blocks after a ``cut`` notice in the tail that no rule names are dropped
    as ``after`` that notice (Match.groups has ``after``)."""
    out: list[Match | None] = [None] * len(blocks)
    _pass(rules, True, blocks, out, (0, len(blocks)), authors)
    head_end, tail_start = zones(blocks, [m is not None for m in out])
    closing = closing_notice(out)
    if closing is not None:  # the two blocks before a closing notice (author bio...) are tail too
        tail_start = min(tail_start, max(closing - 2, head_end))
    bounds = (head_end, tail_start)
    _pass(rules, False, blocks, out, bounds, authors)
    _cut(blocks, out, bounds[1])
    return out


def _pass(rules: RuleSet, anywhere: bool, blocks: Sequence[Block], out: list, bounds: tuple[int, int],
          authors: Sequence[str]) -> None:
    i = 0
    while i < len(blocks):
        m = None if out[i] else match_block(rules, anywhere, blocks, i, bounds[0], bounds[1], authors)
        i += 1
        if m is None:
            continue
        out[m.index] = m
        if m.rule.then == "list":
            while i < len(blocks) and is_listish(blocks[i]):
                out[i] = out[i] or Match(i, m.rule, {})
                i += 1


def _cut(blocks: Sequence[Block], out: list, tail_start: int) -> None:
    """After the first cutting notice in the tail, nothing is body."""
    cut_by = None
    for i in range(tail_start, len(blocks)):
        m = out[i]
        if m is not None and m.rule.cut and "after" not in m.groups and cut_by is None:
            cut_by = m.rule
        elif m is None and cut_by is not None:
            out[i] = Match(i, cut_by, {"after": cut_by.id})
