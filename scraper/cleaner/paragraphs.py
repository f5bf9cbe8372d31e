"""Join paragraphs that a page cut in two mid-sentence: the first part has
no terminal punctuation and the next starts in lower case. Works on any
script with case (Latin, Greek, Cyrillic...)."""
from __future__ import annotations

import re

from .extract import Block

JOINABLE = frozenset({"p", "quote", "blockquote"})
# Ends a sentence or a block: . ! ? … : ; and closing quotes/brackets after them.
_TERMINAL = re.compile(r"""[.!?…:;]["'»”’)\]*_]*\s*$""")
_WORD_START = re.compile(r"""^["'«“‘(\[*_]*\s*(\w)""")


def is_cut(left: str, right: str) -> bool:
    """True when ``left`` stops mid-sentence and ``right`` continues it."""
    if _TERMINAL.search(left):
        return False
    m = _WORD_START.match(right)
    return bool(m) and m.group(1).islower()


def join_splits(blocks: list[Block]) -> tuple[list[Block], int]:
    """Blocks with cut paragraphs joined back; and how many joins were made."""
    out: list[Block] = []
    joins = 0
    for block in blocks:
        prev = out[-1] if out else None
        if (prev is not None and prev.kind in JOINABLE and block.kind in JOINABLE
                and is_cut(prev.text, block.text)):
            out[-1] = Block(prev.kind, f"{prev.text} {block.text}")
            joins += 1
        else:
            out.append(block)
    return out, joins
