"""Store benchmark: bulk insert rate, FTS query latency, near-duplicate
lookup time and file size per article, on synthetic articles.

    PYTHONPATH=. python benchmarks/bench_store.py            # 100,000 articles
    PYTHONPATH=. python benchmarks/bench_store.py --n 5000 --rounds 1   # quick run

Articles are 400-800 words in four languages (pseudo-words built from each
language's syllables, Zipf-distributed like real vocabularies), 3-8
paragraphs, 50 sites; 5% are lightly edited copies of an earlier article on
another site naming it as original_source. Generation time is not counted
in the insert rate. The file lives in a temporary folder, removed at the end.
The insert is done --rounds times (3), each into a new file, and the median
rate reported with all of them: on this shared machine the same code's rate
drifts by tens of percent from one minute to the next. With the rate it
prints the CPU per article of the writing thread and of the preparing
workers (from /proc). Last, a story of --story copies is saved and
the lookup and save of a new copy of it timed.

Targets (issue 5): insert >= 2,000 articles/s in batches, FTS p95 <= 20 ms,
near-duplicate lookup <= 5 ms per new article.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time

from procstat import children, cpu_seconds
from scraper.models import Article, FetchRow, Removed
from scraper.store import Store
from scraper.textkeys import content_hash

SYLLABLES = {
    "en": "the ing ter on and ship ment ble ver str ick ow ea th er st ly ness".split(),
    "fr": "le tion eau ment que rai ou ille eur ent ais oi gn ré ère lles au".split(),
    "es": "la ción mente ar ero que ll iz ado ía os ue ñ rr esta per ble".split(),
    "de": "sch ung ein ich keit ber gen lich ste der zu heit ver ach te auf".split(),
}
LANG_WEIGHTS = {"en": 0.45, "fr": 0.3, "es": 0.15, "de": 0.1}
VOCAB_SIZE = 8000
SITES = [f"site{i:02d}.example" for i in range(50)]
COPY_SHARE = 0.05
POOL = 1 << 18            # pre-drawn words per language


class Corpus:
    """Deterministic generator of synthetic articles."""

    def __init__(self, seed: int = 1):
        self.rng = random.Random(seed)
        self.vocab = {lang: self._vocab(lang) for lang in SYLLABLES}
        weights = [1 / (r + 1) for r in range(VOCAB_SIZE)]
        cum = list(itertools.accumulate(weights))
        # Zipf draws made once; articles then pick uniformly from them (the
        # same distribution, 2x faster to generate than weighted choices)
        self.pool = {lang: self.rng.choices(self.vocab[lang], cum_weights=cum, k=POOL)
                     for lang in SYLLABLES}
        self.texts: list[tuple[str, str, str]] = []   # (text, language, site) for copies

    def _vocab(self, lang: str) -> list[str]:
        rng = random.Random(lang)
        words: set[str] = set()
        while len(words) < VOCAB_SIZE:
            words.add("".join(rng.choices(SYLLABLES[lang], k=rng.choice((1, 2, 2, 3, 3, 4)))))
        return sorted(words, key=lambda w: (len(w), w))  # short words most frequent

    def words(self, lang: str, k: int) -> list[str]:
        return self.rng.choices(self.pool[lang], k=k)

    def text(self, lang: str) -> str:
        total, paras = self.rng.randint(400, 800), []
        while total > 0:
            k = min(total, self.rng.randint(50, 130))
            w = self.words(lang, k)
            paras.append(" ".join(w).capitalize() + ".")
            total -= k
        return "\n\n".join(paras)

    def edited(self, text: str, lang: str, rng: random.Random) -> str:
        """A lightly edited copy: 1-8 words replaced by others of the language."""
        words = text.split(" ")
        for _ in range(rng.randint(1, 8)):
            words[rng.randrange(len(words))] = rng.choice(self.vocab[lang])
        return " ".join(words)

    def article(self, i: int) -> Article:
        rng = self.rng
        site = rng.choice(SITES)
        original = None
        if self.texts and rng.random() < COPY_SHARE:
            text, lang, original = rng.choice(self.texts[-5000:])
            text = self.edited(text, lang, rng)
        else:
            lang = rng.choices(list(LANG_WEIGHTS), weights=list(LANG_WEIGHTS.values()))[0]
            text = self.text(lang)
            self.texts.append((text, lang, site))
        return Article(
            url=f"https://{site}/{2000 + i % 25}/article-{i}", text=text, site=site, domain=site,
            title=" ".join(self.words(lang, 8)).capitalize(), authors=("A. Writer",),
            published=f"{2000 + i % 25}-{1 + i % 12:02d}-{1 + i % 28:02d}", language=lang,
            page_language=lang, original_source=original, word_count=text.count(" ") + 1,
            content_hash=content_hash(text), fetched_at="2024-01-01T00:00:00+00:00",
            removed=(Removed(f"Copyright {site}", "copyright"),
                     Removed("Subscribe to our newsletter", "newsletter")))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def children_cpu() -> float:
    """CPU seconds used so far by this process's live children (the store's
    preparing workers); 0.0 where there is no /proc."""
    total = 0.0
    try:
        pids = children("self")
    except OSError:
        return 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            continue
    return total


def make_items(corpus: Corpus, n: int) -> list[tuple[Article, FetchRow]]:
    """n (article, fetch row) pairs, generated before any timing."""
    items = []
    for i in range(n):
        art = corpus.article(i)
        items.append((art, FetchRow(url=art.url, fetched_at=art.fetched_at, status=200,
                                    bytes=len(art.text) * 3, elapsed=0.2)))
    return items


def bench_insert(store: Store, items: list, batch: int) -> tuple[float, int, float, float]:
    """One Store.save_stream over all the items (generated beforehand, not
    timed, so the stream never stops for them): one transaction per batch,
    the next batch's texts prepared by the workers while one is written.
    Returns (articles/s, copies linked, CPU seconds of the writing thread,
    of the whole writing process)."""
    copies, n = 0, len(items)
    start, cpu, proc = time.perf_counter(), time.thread_time(), time.process_time()
    for done, result in enumerate(store.save_stream(items, batch=batch), 1):
        copies += result.story_id != result.id
        if done % (batch * 20) == 0:
            print(f"  {done:>7} articles, {done / (time.perf_counter() - start):,.0f}/s",
                  file=sys.stderr)
    spent = time.perf_counter() - start
    return n / spent, copies, time.thread_time() - cpu, time.process_time() - proc


def bench_search(store: Store, corpus: Corpus, queries: int) -> list[float]:
    rng = random.Random(7)
    times = []
    for q in range(queries):
        lang = rng.choice(list(SYLLABLES))
        vocab = corpus.vocab[lang]
        if q % 3 == 0:   # one less common word
            words = [vocab[rng.randrange(500, VOCAB_SIZE)]]
        else:            # two words of middling frequency
            words = [vocab[rng.randrange(100, VOCAB_SIZE)] for _ in range(2)]
        filters = {"language": lang} if q % 4 == 0 else {}
        start = time.perf_counter()
        store.search(" ".join(words), limit=20, **filters)
        times.append(time.perf_counter() - start)
    return times


def bench_lookup(store: Store, corpus: Corpus, lookups: int) -> tuple[list[float], float]:
    rng = random.Random(9)
    times, found = [], 0
    for k in range(lookups):
        if k % 2:
            text = rng.choice(corpus.texts)[0].replace(" ", " edited ", 2)
        else:
            text = corpus.text(rng.choice(list(SYLLABLES)))
        start = time.perf_counter()
        hits = store.similar(text)
        times.append(time.perf_counter() - start)
        found += bool(hits) == bool(k % 2)
    return times, found / lookups


def bench_big_story(path: str, corpus: Corpus, copies: int, lookups: int = 100
                    ) -> tuple[list[float], list[float], float]:
    """A story republished ``copies`` times (on every site, lightly edited),
    saved into the file; then the near-duplicate lookup and the save of new
    copies of it are timed (their cost must not grow with the story)."""
    rng = random.Random(11)
    text, lang, _site = corpus.texts[0]
    def article(i: int) -> Article:
        site = SITES[i % len(SITES)]
        return Article(url=f"https://{site}/story/{i}", text=corpus.edited(text, lang, rng),
                       site=site, domain=site, language=lang, title=f"Copy {i}")
    with Store(path) as store:
        for lo in range(0, copies, 1000):
            store.save_many([(article(i), None) for i in range(lo, min(copies, lo + 1000))])
        found, saved, hits = [], [], 0
        for k in range(lookups):
            new = article(copies + k)
            start = time.perf_counter()
            hits += bool(store.similar(new.text))
            found.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.save(new)
            saved.append(time.perf_counter() - start)
    return found, saved, hits / lookups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles to insert")
    parser.add_argument("--batch", type=int, default=1000, help="articles per transaction")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--lookups", type=int, default=400)
    parser.add_argument("--story", type=int, default=1000,
                        help="copies of one story saved at the end (0: none)")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes preparing texts during bulk saves (0: none)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="inserts of the same articles into a new file each (the median "
                             "is reported: this machine's speed drifts by tens of percent)")
    args = parser.parse_args()
    corpus = Corpus()
    items = make_items(corpus, args.n)
    inserts = []
    with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
        for r in range(args.rounds):
            path = os.path.join(tmp, f"bench{r}.db")
            with Store(path, workers=args.workers) as store:
                workers0 = children_cpu()
                rate, copies, writer, process = bench_insert(store, items, args.batch)
                inserts.append((rate, copies, writer, process, children_cpu() - workers0, path))
                store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            print(f"round {r + 1}: {rate:,.0f} articles/s", file=sys.stderr)
            if r < args.rounds - 1:
                os.remove(path)
        rates = [i[0] for i in inserts]
        rate, copies, writer, process, workers, _ = sorted(inserts)[len(inserts) // 2]
        path = inserts[-1][5]   # the last file is kept for the queries
        size = os.path.getsize(path)
        with Store.open_readonly(path) as store:
            search = bench_search(store, corpus, args.queries)
            lookup, accuracy = bench_lookup(store, corpus, args.lookups)
        big = bench_big_story(path, corpus, args.story) if args.story else None
    ms = lambda seconds: seconds * 1000  # noqa: E731
    print(f"articles: {args.n:,} in batches of {args.batch} (save_stream), {args.workers} preparing workers "
          f"({copies:,} linked as copies)")
    print(f"insert rate: {rate:,.0f} articles/s (target >= 2,000), the median of {args.rounds} "
          f"rounds: {', '.join(f'{r:,.0f}' for r in rates)}")
    print(f"  in the median round, CPU per article: writing thread "
          f"{ms(writer) / args.n:.2f} ms (its process {ms(process) / args.n:.2f} ms), preparing workers {ms(workers) / args.n:.2f} ms "
          f"({(process + workers) * rate / args.n:.2f} cores busy while inserting)")
    print(f"FTS search ({args.queries} queries, limit 20, with snippets): "
          f"p50 {ms(statistics.median(search)):.1f} ms, p95 {ms(percentile(search, 95)):.1f} ms "
          f"(target p95 <= 20 ms)")
    print(f"near-duplicate lookup ({args.lookups} new texts): p50 {ms(statistics.median(lookup)):.2f} ms,"
          f" p95 {ms(percentile(lookup, 95)):.2f} ms (target <= 5 ms); copies found right: "
          f"{accuracy:.0%}")
    if big:
        print(f"a story of {args.story:,} copies: near-duplicate lookup of a new copy p50 "
              f"{ms(statistics.median(big[0])):.2f} ms, p95 {ms(percentile(big[0], 95)):.2f} ms; "
              f"saving it (one transaction) p50 {ms(statistics.median(big[1])):.1f} ms; found: {big[2]:.0%}")
    print(f"file size: {size / 1e6:,.1f} MB, {size / args.n / 1024:.1f} KiB per article")
    print(f"SUMMARY n={args.n} insert={rate:,.0f}/s (median of {args.rounds}: "
          f"{min(rates):,.0f}-{max(rates):,.0f}) fts_p50={ms(statistics.median(search)):.1f}ms "
          f"fts_p95={ms(percentile(search, 95)):.1f}ms "
          f"neardup_p95={ms(percentile(lookup, 95)):.2f}ms "
          + (f"big_story_neardup_p95={ms(percentile(big[0], 95)):.2f}ms " if big else "")
          + f"size={size / args.n / 1024:.1f}KiB/article")


if __name__ == "__main__":
    main()
