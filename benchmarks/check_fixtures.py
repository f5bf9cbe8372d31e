#!/usr/bin/env python3
"""Check the hand-built fixture pages and their truth files.

Usage (from the project root):
    python benchmarks/check_fixtures.py [FIXTURES_DIR] [--prefix en_] [--scorer PATH] [--no-baseline]

For every NAME.truth.json in FIXTURES_DIR (optionally only names starting with --prefix):
  * the JSON is valid and has every truth field with the right type; NAME.html exists,
    starts with <!DOCTYPE html> followed by an HTML comment saying it is hand-built;
  * the date is yyyy-mm-dd; a truth with several authors uses a list;
  * every split_joins left/right occurs as the text of a separate <p> element (tags
    stripped, whitespace collapsed), left ends without terminal punctuation, right starts
    in lower case, and "left right" is one of body_paragraphs;
  * every word of every body paragraph occurs in the page's visible text;
  * no boilerplate paragraph is also a body paragraph.
Then it scores one "perfect" record per fixture (the truth itself) with the shared
score_records.py, which must print recall=1.000 residue=0.000 joins=1.000 meta=1.000,
and (information only) scores bare trafilatura.extract(html, url=url) the same way; a page
where trafilatura finds no text at all is reported as a problem (unrealistic markup).

Prints every problem, then a one-line summary; exits 1 if there was any problem.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from lxml import html as lxml_html

DEFAULT_SCORER = Path(__file__).resolve().parents[1] / ".." / "shared" / "tools" / "score_records.py"
FALLBACK_SCORER = Path("/work/shared/tools/score_records.py")
WORD = re.compile(r"\w+")
FIELDS = {"url": str, "title": str, "date": str, "site": str, "language": str, "page_language": str,
          "original_source_aliases": list, "body_paragraphs": list, "boilerplate_paragraphs": list,
          "split_joins": list, "traps": str, "fixture_note": str}
PERFECT_LINE = "recall=1.000 residue=0.000 joins=1.000 meta=1.000"


def collapse(text: str) -> str:
    """Whitespace collapsed to single spaces, stripped."""
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    return [t.casefold() for t in WORD.findall(text)]


def visible_text(doc) -> str:
    """Text of the page body without scripts and styles."""
    body = doc.find("body")
    for bad in body.xpath(".//script|.//style|.//noscript"):
        bad.drop_tree()
    return collapse(" ".join(body.itertext()))


def check_truth_fields(name: str, truth: dict) -> list[str]:
    problems = []
    for key, typ in FIELDS.items():
        if not isinstance(truth.get(key), typ):
            problems.append(f"{name}: field {key!r} missing or not {typ.__name__}")
    if not isinstance(truth.get("author"), (str, list)) or not truth.get("author"):
        problems.append(f"{name}: author must be a name or a list of names")
    if not (truth.get("original_source") is None or isinstance(truth.get("original_source"), str)):
        problems.append(f"{name}: original_source must be a string or null")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(truth.get("date", ""))):
        problems.append(f"{name}: date {truth.get('date')!r} is not yyyy-mm-dd")
    if "hand-built" not in str(truth.get("fixture_note", "")).lower():
        problems.append(f"{name}: fixture_note does not say the page is hand-built")
    return problems


def check_page(name: str, truth: dict, raw: str) -> list[str]:
    problems = []
    head = raw.lstrip()[:600]
    if not re.match(r"(?is)<!DOCTYPE html>\s*<!--[^>]*hand-built", head):
        problems.append(f"{name}: page must start with <!DOCTYPE html> and a 'hand-built' comment")
    doc = lxml_html.fromstring(raw.encode("utf-8"))
    p_texts = Counter(collapse(p.text_content()) for p in doc.iter("p"))
    body_set = set(truth["body_paragraphs"])
    for sp in truth["split_joins"]:
        left, right = sp.get("left", ""), sp.get("right", "")
        for side, text in (("left", left), ("right", right)):
            if p_texts[text] < 1:
                problems.append(f"{name}: split {side} part is not the text of a <p>: {text[:60]!r}")
        if re.search(r"[.!?:;\"\u201d]\s*$", left):
            problems.append(f"{name}: split left part ends with terminal punctuation: ...{left[-30:]!r}")
        if not right[:1].islower():
            problems.append(f"{name}: split right part does not start in lower case: {right[:30]!r}")
        if f"{left} {right}" not in body_set:
            problems.append(f"{name}: joined split is not in body_paragraphs: {left[-30:]!r}|{right[:30]!r}")
    page_toks = Counter(tokens(visible_text(doc)))
    for i, para in enumerate(truth["body_paragraphs"]):
        missing = Counter(tokens(para)) - page_toks
        if missing:
            problems.append(f"{name}: body paragraph {i} has words not on the page: {sorted(missing)[:5]}")
    for bp in truth["boilerplate_paragraphs"]:
        if bp in body_set:
            problems.append(f"{name}: boilerplate paragraph is also body: {bp[:60]!r}")
    return problems


def perfect_record(truth: dict) -> dict:
    return {"url": truth["url"], "text": "\n\n".join(truth["body_paragraphs"]), "title": truth["title"],
            "author": truth["author"], "published": truth["date"], "language": truth["language"],
            "original_source": truth["original_source"]}


def trafilatura_record(truth: dict, raw: str) -> dict:
    import trafilatura  # imported here: only the baseline needs it

    text = trafilatura.extract(raw, url=truth["url"]) or ""
    meta = trafilatura.extract_metadata(raw, default_url=truth["url"])
    rec = {"url": truth["url"], "text": text}
    if meta is not None:
        rec.update({"title": meta.title, "author": meta.author, "published": meta.date})
    return rec


def score(scorer: Path, records: list[dict], fixtures: Path, names: list[str]) -> str:
    """Run score_records.py on records against the selected fixtures; return its last line."""
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages"
        pages.mkdir()
        for name in names:  # score only the selected fixtures
            for ext in (".html", ".truth.json"):
                (pages / f"{name}{ext}").write_bytes((fixtures / f"{name}{ext}").read_bytes())
        recs = Path(tmp) / "records.jsonl"
        recs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        out = subprocess.run([sys.executable, str(scorer), str(recs), str(pages)],
                             capture_output=True, text=True, timeout=120)
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    if out.returncode != 0 or not lines:
        return f"scorer failed: {out.stderr.strip()[-300:]}"
    return lines[-1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fixtures", nargs="?", default="fixtures", help="folder with NAME.html + NAME.truth.json")
    ap.add_argument("--prefix", default="", help="check only fixtures whose name starts with this")
    ap.add_argument("--scorer", default=None, help="path of score_records.py")
    ap.add_argument("--no-baseline", action="store_true", help="skip the bare-trafilatura baseline")
    a = ap.parse_args(argv)

    fixtures = Path(a.fixtures)
    names = sorted(p.name[:-len(".truth.json")] for p in fixtures.glob(f"{a.prefix}*.truth.json"))
    if not names:
        print(f"no {a.prefix}*.truth.json in {fixtures}")
        return 1
    problems: list[str] = []
    truths, raws = {}, {}
    for name in names:
        try:
            truth = json.loads((fixtures / f"{name}.truth.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{name}: truth file unreadable: {exc}")
            continue
        page = fixtures / f"{name}.html"
        if not page.exists():
            problems.append(f"{name}: {page.name} missing")
            continue
        problems += check_truth_fields(name, truth)
        if not all(isinstance(truth.get(k), list) for k in ("body_paragraphs", "boilerplate_paragraphs", "split_joins")):
            continue
        raw = page.read_text(encoding="utf-8")
        problems += check_page(name, truth, raw)
        truths[name], raws[name] = truth, raw

    scorer = Path(a.scorer) if a.scorer else (DEFAULT_SCORER if DEFAULT_SCORER.exists() else FALLBACK_SCORER)
    checked = sorted(truths)
    if scorer.exists() and checked:
        line = score(scorer, [perfect_record(truths[n]) for n in checked], fixtures, checked)
        print(f"perfect records: {line}")
        if line.strip() != PERFECT_LINE:
            problems.append(f"perfect records do not score perfectly: {line}")
        if not a.no_baseline:
            recs = [trafilatura_record(truths[n], raws[n]) for n in checked]
            for n, r in zip(checked, recs):
                if not r["text"].strip():
                    problems.append(f"{n}: bare trafilatura finds no text (unrealistic markup?)")
            print(f"bare trafilatura (information only): {score(scorer, recs, fixtures, checked)}")
    else:
        print(f"note: scorer {scorer} not found; truth self-consistency scoring skipped")

    for p in problems:
        print(f"PROBLEM {p}")
    n_splits = sum(len(truths[n]["split_joins"]) for n in checked)
    print(f"fixtures={len(names)} checked={len(checked)} splits={n_splits} problems={len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
