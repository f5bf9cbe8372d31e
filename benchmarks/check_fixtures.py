#!/usr/bin/env python3
"""Check hand-built fixture pages against their truth files.

Usage:
    python benchmarks/check_fixtures.py [FIXTURES_DIR] [--prefix fr_ --prefix es_] [--baseline]

For every NAME.truth.json (optionally only names starting with one of --prefix):
  * the truth is valid JSON with every field of the truth format, date yyyy-mm-dd;
  * NAME.html exists, starts with <!DOCTYPE html> followed by a comment saying it is hand-built;
  * every split_joins left/right occurs as the text of a separate <p>, and the joined
    text is one of the body paragraphs;
  * every body paragraph's words and every boilerplate paragraph's text occur in the page;
  * the perfect record (truth body + metadata) scores recall=1 residue=0 joins=1 meta=1
    with ../shared/tools/score_records.py (so no boilerplate paragraph overlaps the body).
With --baseline, bare trafilatura.extract(html, url=url) is scored too (information only).
Problems are printed; the exit status is non-zero if there are any. Last line: a summary.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER_CANDIDATES = [ROOT.parent / "shared" / "tools" / "score_records.py",
                     Path("/work/shared/tools/score_records.py")]
FIELDS = ("url", "title", "author", "date", "site", "language", "page_language", "original_source",
          "original_source_aliases", "body_paragraphs", "boilerplate_paragraphs", "split_joins",
          "traps", "fixture_note")
PERFECT = "recall=1.000 residue=0.000 joins=1.000 meta=1.000"
WORD = re.compile(r"\w+")
SKIP = {"script", "style", "noscript", "template"}
BLOCKS = {"p", "div", "blockquote", "li", "ul", "ol", "td", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
          "article", "aside", "header", "footer", "nav", "form", "figure", "figcaption", "body", "option"}


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


class _Texts(HTMLParser):
    """Collects the text of each <p> and the whole visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.visible: list[str] = []
        self._p: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS:
            self.visible.append(" ")
        if tag in SKIP:
            self._skip += 1
        elif tag == "p":
            self._close_p()
            self._p = []
        elif tag == "br":
            self.visible.append(" ")
            if self._p is not None:
                self._p.append(" ")

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self.visible.append(" ")
        if tag in SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in ("p", "div", "blockquote", "li", "td", "body"):
            self._close_p()

    def handle_data(self, data):
        if self._skip:
            return
        self.visible.append(data)
        if self._p is not None:
            self._p.append(data)

    def _close_p(self):
        if self._p is not None:
            self.paragraphs.append(squash("".join(self._p)))
            self._p = None


def page_texts(html: str) -> tuple[set[str], str]:
    parser = _Texts()
    parser.feed(html)
    parser.close()
    parser._close_p()
    return set(parser.paragraphs), squash("".join(parser.visible))


def check_one(name: str, folder: Path) -> list[str]:
    problems = []
    try:
        truth = json.loads((folder / f"{name}.truth.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{name}: truth not readable: {exc}"]
    missing = [f for f in FIELDS if f not in truth]
    if missing:
        problems.append(f"{name}: truth lacks {missing}")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(truth.get("date", ""))):
        problems.append(f"{name}: date not yyyy-mm-dd")
    html_path = folder / f"{name}.html"
    if not html_path.exists():
        return problems + [f"{name}: {html_path.name} missing"]
    html = html_path.read_text(encoding="utf-8", errors="replace")
    if not re.match(r"\s*<!DOCTYPE html>\s*<!--[^>]*hand-built", html, re.I):
        problems.append(f"{name}: page does not start with <!DOCTYPE html> + hand-built comment")
    paras, visible = page_texts(html)
    vis_words = set(w.casefold() for w in WORD.findall(visible))
    body = truth.get("body_paragraphs", [])
    for sj in truth.get("split_joins", []):
        for side in ("left", "right"):
            if sj[side] not in paras:
                problems.append(f"{name}: split {side} not a <p> text: {sj[side][:60]!r}")
        if squash(sj["left"] + " " + sj["right"]) not in body:
            problems.append(f"{name}: joined split not in body_paragraphs: {sj['left'][-40:]!r}")
        if re.search(r"[.!?:;»\"”)]$", sj["left"]) or not sj["right"][:1].islower():
            problems.append(f"{name}: split does not look like a page break: {sj['left'][-30:]!r}")
    for i, p in enumerate(body):
        lost = [w for w in WORD.findall(p) if w.casefold() not in vis_words]
        if lost:
            problems.append(f"{name}: body paragraph {i} words not in page: {lost[:5]}")
    for b in truth.get("boilerplate_paragraphs", []):
        if squash(b) not in visible:
            problems.append(f"{name}: boilerplate text not found in page: {b[:60]!r}")
    return problems


def perfect_record(truth: dict) -> dict:
    return {"url": truth["url"], "text": "\n\n".join(truth["body_paragraphs"]), "title": truth["title"],
            "author": truth["author"], "published": truth["date"], "language": truth["language"],
            "original_source": truth["original_source"]}


def baseline_record(truth: dict, html: str) -> dict:
    import trafilatura  # only needed for --baseline
    text = trafilatura.extract(html, url=truth["url"]) or ""
    meta = trafilatura.extract_metadata(html, default_url=truth["url"])
    return {"url": truth["url"], "text": text, "title": getattr(meta, "title", None),
            "author": getattr(meta, "author", None), "published": getattr(meta, "date", None),
            "language": getattr(meta, "language", None), "original_source": None}


def score(records: list[dict], folder: Path, scorer: Path, verbose: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        recs = Path(tmp) / "records.jsonl"
        recs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        pages = Path(tmp) / "pages"
        pages.mkdir()
        for r in records:
            stem = r["_name"]
            for suffix in (".html", ".truth.json"):
                (pages / f"{stem}{suffix}").symlink_to((folder / f"{stem}{suffix}").resolve())
        args = [sys.executable, str(scorer), str(recs), str(pages)] + (["-v"] if verbose else [])
        out = subprocess.run(args, capture_output=True, text=True, check=False)
    if verbose:
        print(out.stdout)
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else f"scorer failed: {out.stderr.strip()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "fixtures"))
    ap.add_argument("--prefix", action="append", default=[], help="only names starting with this (repeatable)")
    ap.add_argument("--baseline", action="store_true", help="also score bare trafilatura (information only)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the scorer's per-page table")
    a = ap.parse_args(argv)
    folder = Path(a.folder)
    scorer = next((p for p in SCORER_CANDIDATES if p.exists()), None)
    names = sorted(p.name[:-len(".truth.json")] for p in folder.glob("*.truth.json"))
    if a.prefix:
        names = [n for n in names if n.startswith(tuple(a.prefix))]
    if not names:
        print(f"no truth files in {folder}")
        return 1
    problems = [msg for n in names for msg in check_one(n, folder)]
    for msg in problems:
        print("PROBLEM", msg)
    truths = {n: json.loads((folder / f"{n}.truth.json").read_text(encoding="utf-8")) for n in names}
    perfect_line = "scorer not found"
    if scorer is None:
        problems.append("score_records.py not found")
    else:
        perfect = [dict(perfect_record(t), _name=n) for n, t in truths.items()]
        perfect_line = score(perfect, folder, scorer, a.verbose)
        print(f"perfect records: {perfect_line}")
        if perfect_line != PERFECT:
            problems.append("perfect records do not score perfectly: " + perfect_line)
            print("PROBLEM perfect records do not score perfectly (rerun with -v)")
        if a.baseline:
            base = [dict(baseline_record(t, (folder / f"{n}.html").read_text(encoding="utf-8")), _name=n)
                    for n, t in truths.items()]
            print(f"bare trafilatura: {score(base, folder, scorer, a.verbose)}")
    print(f"fixtures={len(names)} problems={len(problems)} perfect: {perfect_line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
