"""The text keys of the store (template memory, near-duplicate sketches)
must not change between releases: stored keys are compared with new ones."""
import random
import re
import sys

from scraper.textkeys import _CLINGING, fold, normalize_text, words

WORD = re.compile(r"[^\W_]+")   # the definition words() implements faster


def test_isalnum_is_the_regex_letter_or_digit_test_on_every_code_point():
    differ = [c for c in map(chr, range(sys.maxunicode + 1))
              if c.isalnum() != bool(WORD.fullmatch(c))]
    assert differ == []
    assert not any(WORD.fullmatch(c) for c in _CLINGING)


def test_words_are_the_regex_words_of_any_text():
    rng = random.Random(5)
    pieces = ["word", "Été", "naïve", "123", "4,5", "l'homme", "co-op", "«oui»", "“said,”", "_x_",
              "a_b", "(Reuters)", "--", "…", "e-mail.", "日本語", "٣٤", "x²", "ǅ", "\u00a0", "\u2003",
              " ", "\n\n", "\t", "'", "’s", "-", ".", "?!", "ß", "İ", "\u0301", "🙂", "[1]", "/"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", ""]) for _ in range(rng.randrange(30)))
        folded = fold(text)
        assert words(folded) == WORD.findall(folded), text
        assert normalize_text(text) == " ".join(WORD.findall(folded))
