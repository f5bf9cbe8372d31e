"""Metrics used by the benchmarks and the quality-gate tests, ported from the
project's shared evaluation tools so the repository is self-contained:

* ``article_f1``: the article-extraction benchmark's metric (4-token shingles
  of \\w+ tokens, per-page precision and recall averaged over pages, F1 = their
  harmonic mean), as in shared/tools/eval_article_benchmark.py.
* ``score_fixtures``: body recall, boilerplate residue, joins and metadata
  accuracy per field over fixtures with truth files, as in
  shared/tools/score_records.py. tests/test_scoring.py checks both ports
  against the shared tools when those are present.
"""
from __future__ import annotations

import datetime as _dt
import gzip
import json
import re
import statistics
import unicodedata
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

_WORD = re.compile(r"\w+", re.UNICODE)
FIELDS = ("title", "author", "date", "language", "original_source")


# ------------------------------------------------------------ article benchmark
def _shingles4(text):
    toks = _WORD.findall(text or "")
    if not toks:
        return Counter()
    if len(toks) < 4:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i:i + 4]) for i in range(len(toks) - 3))


def article_f1(truths: dict[str, str], preds: dict[str, str | None]) -> dict[str, float]:
    precs, recs = [], []
    for k in sorted(truths):
        t, p = _shingles4(truths[k]), _shingles4(preds.get(k))
        tp, fp, fn = (float(sum(x.values())) for x in (t & p, p - t, t - p))
        total = tp + fp + fn
        if total:
            tp, fp, fn = tp / total, fp / total, fn / total
        if tp + fp > 0:
            precs.append(1.0 if fp == 0 and fn == 0 else tp / (tp + fp))
        if tp + fn > 0:
            recs.append(1.0 if fp == 0 and fn == 0 else tp / (tp + fn))
    p = statistics.mean(precs) if precs else 0.0
    r = statistics.mean(recs) if recs else 0.0
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r}


def load_article_benchmark(folder: Path) -> tuple[dict, dict]:
    """({id: {"articleBody", "url"}}, {id: html})"""
    gt = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    html = {}
    for k in gt:
        with gzip.open(folder / "html" / f"{k}.html.gz", "rb") as fh:
            html[k] = fh.read().decode("utf-8")
    return gt, html


# ------------------------------------------------------------ fixture metrics
def _tokens(text):
    return [t.casefold() for t in _WORD.findall(text or "")]


def _ngrams(toks, n):
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def norm_text(s):
    if s is None:
        return ""
    if isinstance(s, (list, tuple)):
        s = " ".join(str(x) for x in s)
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    s = re.sub(r"[^\w\s]", " ", s).replace("_", " ")
    return re.sub(r"\s+", " ", s).strip()


def norm_url(u):
    if not u:
        return ""
    u = str(u).strip()
    if "//" not in u:
        u = "http://" + u
    parts = urlsplit(u)
    host = parts.netloc.lower()
    host = host[4:] if host.startswith("www.") else host
    return host + parts.path.rstrip("/")


def norm_source(s):
    if s is None:
        return ""
    s = str(s).strip()
    if re.match(r"^(https?://)?([\w-]+\.)+[a-z]{2,}(/.*)?$", s, re.I) and " " not in s:
        host = urlsplit(s if "//" in s else "http://" + s).netloc.lower()
        return host[4:] if host.startswith("www.") else host
    return norm_text(s)


_SPLIT_AUTHORS = re.compile(r"\s*(?:,|;|&|\band\b|\bet\b|\by\b)\s*", re.I)


def norm_authors(a):
    if a is None:
        return frozenset()
    parts = [str(x) for x in a] if isinstance(a, (list, tuple)) else _SPLIT_AUTHORS.split(str(a))
    out = set()
    for p in parts:
        n = norm_text(re.sub(r"^\s*(by|par|por)\s+", "", p, flags=re.I))
        if n:
            out.add(n)
    return frozenset(out)


_MONTHS = {}
for _i, _names in enumerate([
        ("january", "jan", "janvier", "janv", "enero", "ene"), ("february", "feb", "fevrier", "fevr", "febrero"),
        ("march", "mar", "mars", "marzo"), ("april", "apr", "avril", "avr", "abril", "abr"), ("may", "mai", "mayo"),
        ("june", "jun", "juin", "junio"), ("july", "jul", "juillet", "juil", "julio"),
        ("august", "aug", "aout", "agosto", "ago"), ("september", "sep", "sept", "septembre", "septiembre", "setiembre"),
        ("october", "oct", "octobre", "octubre"), ("november", "nov", "novembre", "noviembre"),
        ("december", "dec", "decembre", "diciembre", "dic")], start=1):
    for _n in _names:
        _MONTHS[_n] = _i


def norm_date(d):
    if d is None:
        return ""
    s = str(d).strip()
    m = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", s) or re.search(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})", s)
    if m:
        y, mo, da = (int(x) for x in m.groups())
    else:
        t = norm_text(s)
        m1 = re.search(r"\b(\d{1,2}) (?:de )?([a-z]+)\.? (?:de )?(\d{4})\b", t)
        m2 = re.search(r"\b([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)? (\d{4})\b", t)
        if m1 and m1.group(2) in _MONTHS:
            da, mo, y = int(m1.group(1)), _MONTHS[m1.group(2)], int(m1.group(3))
        elif m2 and m2.group(1) in _MONTHS:
            mo, da, y = _MONTHS[m2.group(1)], int(m2.group(2)), int(m2.group(3))
        else:
            return ""
    try:
        return _dt.date(y, mo, da).isoformat()
    except ValueError:
        return ""


def norm_lang(x):
    m = re.match(r"[A-Za-z]{2}", str(x or "").strip())
    return m.group(0).lower() if m else ""


def load_truths(folder: Path) -> dict[str, dict]:
    return {p.name[:-len(".truth.json")]: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.truth.json"))}


def score_page(t: dict, rec: dict | None) -> dict:
    rec = rec or {}
    text = rec.get("text") or ""
    ptoks = _tokens(text)
    btoks = _tokens(" ".join(t["body_paragraphs"]))
    hit = sum((Counter(btoks) & Counter(ptoks)).values())
    recall = hit / len(btoks) if btoks else 1.0
    pshing = _ngrams(ptoks, 5) if len(ptoks) >= 5 else ({tuple(ptoks)} if ptoks else set())
    leaked, total = [], 0
    for b in t["boilerplate_paragraphs"]:
        bt = _tokens(b)
        if not bt:
            continue
        total += 1
        if len(bt) < 5:
            found = tuple(bt) in _ngrams(ptoks, len(bt))
        else:
            s = _ngrams(bt, 5)
            found = len(s & pshing) / len(s) >= 0.5
        if found:
            leaked.append(b)
    paras = [_tokens(p) for p in re.split(r"\n+", text)] if text else []
    has_breaks = "\n" in text.strip()
    joins = []
    for sp in t.get("split_joins", []):
        lt, rt = _tokens(sp["left"]), _tokens(sp["right"])
        seam = tuple(lt[-4:] + rt[:4])
        joins.append(has_breaks and any(seam in _ngrams(pt, len(seam)) for pt in paras if len(pt) >= len(seam)))
    src = rec.get("original_source")
    accept = {norm_source(a) for a in t.get("original_source_aliases", [])}
    if t.get("original_source"):
        accept.add(norm_source(t["original_source"]))
        src_ok = bool(src) and norm_source(src) in accept
    else:
        accept.add(norm_source(t.get("site")))
        src_ok = (not src) or norm_source(src) in accept
    meta = {
        "title": bool(rec.get("title")) and norm_text(rec.get("title")) == norm_text(t["title"]),
        "author": bool(rec.get("authors")) and norm_authors(rec.get("authors")) == norm_authors(t["author"]),
        "date": norm_date(rec.get("published")) == t["date"],
        "language": norm_lang(rec.get("language")) == (t.get("language") or ""),
        "original_source": src_ok,
    }
    return {"recall": recall, "leaked": leaked, "bp_total": total, "joins": joins, "meta": meta}


def score_fixtures(records: dict[str, dict], truths: dict[str, dict]) -> dict:
    """records: {fixture name: record dict}. Returns the summary and per-page details."""
    pages = {name: score_page(t, records.get(name)) for name, t in truths.items()}
    n = len(pages)
    bp = sum(p["bp_total"] for p in pages.values())
    leaked = sum(len(p["leaked"]) for p in pages.values())
    joins = [j for p in pages.values() for j in p["joins"]]
    fields = {f: sum(p["meta"][f] for p in pages.values()) / n for f in FIELDS}
    return {
        "recall": sum(p["recall"] for p in pages.values()) / n,
        "residue": leaked / bp if bp else 0.0,
        "joins": sum(joins) / len(joins) if joins else 1.0,
        "meta": sum(fields.values()) / len(FIELDS),
        "fields": fields,
        "pages": pages,
    }
