#!/usr/bin/env python3
"""Benchmark the cleaner.

    python benchmarks/bench_clean.py [BENCHMARK_DIR] [--fixtures fixtures/] [--repeat N]

1. On the article-extraction benchmark folder (ground-truth.json + html/*.html.gz),
   in one run and one process: article-body F1 (the benchmark's metric) and
   pages/second of ``scraper.clean`` side by side with bare
   ``trafilatura.extract`` at default settings (median of --repeat timed passes,
   passes interleaved so both see the same machine load).
2. On the fixtures folder: body recall, boilerplate residue, joins and metadata
   accuracy per field (the metrics of shared/tools/score_records.py).
The last line is a one-line summary.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scoring import article_f1, load_article_benchmark, load_truths, score_fixtures  # noqa: E402

from scraper import clean  # noqa: E402
from scraper.errors import CleanError  # noqa: E402


def ours(html: str, url: str) -> str:
    try:
        return clean(html, url).text
    except CleanError:
        return ""


def bare_trafilatura(html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False) or ""  # as the benchmark tool runs it


def timed_pass(fn, gt, html) -> tuple[dict, float]:
    preds, spent = {}, 0.0
    for k in gt:
        t0 = time.perf_counter()
        preds[k] = fn(html[k], gt[k].get("url", ""))
        spent += time.perf_counter() - t0
    return preds, spent


def run_article_benchmark(folder: Path, repeat: int) -> dict:
    gt, html = load_article_benchmark(folder)
    truths = {k: v["articleBody"] for k, v in gt.items()}
    first = next(iter(gt))
    for fn in (ours, bare_trafilatura):  # warm-up: imports, rule compilation, langdetect profiles
        fn(html[first], gt[first]["url"])
    results = {}
    times: dict[str, list[float]] = {"scraper.clean": [], "trafilatura.extract": []}
    for _ in range(repeat):
        for name, fn in (("scraper.clean", ours), ("trafilatura.extract", bare_trafilatura)):
            preds, spent = timed_pass(fn, gt, html)
            times[name].append(spent)
            results.setdefault(name, article_f1(truths, preds))
    for name in results:
        results[name]["pages_per_s"] = len(gt) / statistics.median(times[name])
    return results


def run_fixtures(folder: Path) -> dict:
    truths = load_truths(folder)
    records = {}
    for name, t in truths.items():
        try:
            records[name] = clean((folder / f"{name}.html").read_bytes(), t["url"]).to_dict()
        except CleanError:
            records[name] = None
    return score_fixtures(records, truths)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmark", type=Path, nargs="?",
                    default=HERE.parent.parent / "shared" / "benchmarks" / "article-extraction-benchmark")
    ap.add_argument("--fixtures", type=Path, default=HERE.parent / "fixtures")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per extractor (median)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list fixture failures")
    args = ap.parse_args(argv)

    summary = []
    if (args.benchmark / "ground-truth.json").exists():
        res = run_article_benchmark(args.benchmark, args.repeat)
        print(f"article-extraction benchmark: {args.benchmark}")
        for name, m in res.items():
            print(f"  {name:22s} F1 {m['f1']:.4f}  P {m['precision']:.4f}  R {m['recall']:.4f}  "
                  f"pages/s {m['pages_per_s']:.1f}")
        ratio = res["scraper.clean"]["pages_per_s"] / res["trafilatura.extract"]["pages_per_s"]
        print(f"  speed ratio scraper.clean / trafilatura.extract: {ratio:.2f}")
        summary.append(f"f1={res['scraper.clean']['f1']:.4f} trafilatura_f1={res['trafilatura.extract']['f1']:.4f} "
                       f"speed_ratio={ratio:.2f}")
    else:
        print(f"article-extraction benchmark not found at {args.benchmark}: skipped")
    fx = run_fixtures(args.fixtures)
    print(f"fixtures: {args.fixtures} ({len(fx['pages'])} pages)")
    print("  " + "  ".join(f"{f}={v:.3f}" for f, v in fx["fields"].items()))
    if args.verbose:
        for name, p in fx["pages"].items():
            bad = [f for f, ok in p["meta"].items() if not ok]
            if p["leaked"] or bad or p["recall"] < 0.99 or not all(p["joins"]):
                print(f"  {name}: recall={p['recall']:.3f} leaked={len(p['leaked'])} joins={p['joins']} bad={bad}")
                for b in p["leaked"]:
                    print(f"      leaked: {b[:100]}")
    summary.append(f"recall={fx['recall']:.3f} residue={fx['residue']:.3f} joins={fx['joins']:.3f} meta={fx['meta']:.3f}")
    print(" ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
