"""Benchmark of the cron job: `scraper run` end to end (discover + fetch +
clean + store) over PAGES pages on SITES local sites (127.0.0.1, one port
each, politeness delay 0), against single-process `scraper.clean` over the
same pages, then a second, no-change run.

    python benchmarks/bench_run.py [--pages 2000] [--sites 20] [--workers 0] [--rounds 1]

Pages are the fixture pages varied: each gets its own URL, its middle body
paragraphs shuffled, and the furniture of a real news page around it (scripts,
menu, related teasers, comments, footer: ~115 KB, the median size of the
pages of ../shared/benchmarks/article-extraction-benchmark), so cleaning does real work. The run is a real
`python -m scraper run` process; its peak RSS counts its cleaning processes
(summed from /proc every --poll seconds, 1 by default). It also prints where
the CPU went per page (the run's process and its main thread, the cleaning
processes, the local server) and the machine's busy cores second by second.
Last, the machine's own ceiling: one process per core doing nothing but
cleaning the pages, against the same single-process rate.
Targets (issue 6): speed-up >= 1.6x over one process, peak RSS < 300 MB,
second run < 5% of the first.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from procstat import TICK, children, cpu_seconds  # noqa: E402
from scraper.demo import DemoPage, DemoServer, DemoSite, ORIGIN, page_from_html  # noqa: E402

_PARA = re.compile(rb"<p\b[^>]*>.{200,}?</p>", re.S)
_TEXT = re.compile(rb"<p\b[^>]*>([^<]{80,})</p>")


def furniture(rng: random.Random, sentences: list[bytes]) -> tuple[bytes, bytes]:
    """What real news pages carry around an article (the fixtures are stripped
    to ~10 KB; real pages, e.g. ../shared/benchmarks/article-extraction-benchmark,
    have a median of ~115 KB): a script-heavy head, a menu, a sidebar of related teasers, a
    comments section and a footer of links. Returns (head part, body part)."""
    words = b" ".join(rng.sample(sentences, min(40, len(sentences)))).split()
    def teaser(n: int) -> bytes:
        start = rng.randrange(max(1, len(words) - n))
        return b" ".join(words[start:start + n])
    script = b"<script>window.dataLayer=window.dataLayer||[];" + b"".join(
        b"function f%d(a,b){return a.map(function(x){return x*%d+b;});}" % (k, k)
        for k in range(650)) + b"</script><style>" + b"".join(
        b".c%d{margin:%dpx;padding:%dpx;color:#%06x}" % (k, k % 9, k % 7, k * 2654435 % 0xFFFFFF)
        for k in range(650)) + b"</style>"
    menu = b'<header><div class="wrap"><nav><ul>' + b"".join(
        b'<li class="menu-item"><div><a href="/section/%d/"><span>%s</span></a></div></li>'
        % (k, teaser(2)) for k in range(120)) + b"</ul></nav></div></header>"
    aside = b'<aside class="sidebar"><h3>Related</h3>' + b"".join(
        b'<div class="teaser"><a href="/related/%d/"><h4>%s</h4></a><p>%s</p></div>'
        % (k, teaser(8), teaser(35)) for k in range(40)) + b"</aside>"
    comments = b'<section class="comments"><h3>Comments</h3>' + b"".join(
        b'<div class="comment"><span class="who">reader%d</span><p>%s</p></div>'
        % (k, teaser(60)) for k in range(10)) + b"</section>"
    footer = b"<footer>" + b"".join(b'<a href="/page/%d/">%s</a> ' % (k, teaser(3))
                                    for k in range(120)) + b"</footer>"
    return script, menu + aside + comments + footer


def make_pages(count: int, folder: Path = ROOT / "fixtures") -> list[bytes]:
    """``count`` variants of the fixture pages (middle paragraphs of 200+ bytes shuffled)."""
    bases = [page_from_html(p.read_bytes(), "/x", datetime.now(timezone.utc))[1].html
             for p in sorted(folder.glob("*.html"))]
    sentences = [t for base in bases for t in _TEXT.findall(base)]
    out = []
    for i in range(count):
        html = bases[i % len(bases)]
        paras = _PARA.findall(html)
        rng = random.Random(i)

        middle = paras[2:-4]          # head and tail (where notices stand) stay in place
        rng.shuffle(middle)
        shuffled = paras[:2] + middle + paras[-4:] if len(paras) > 6 else paras
        it = iter(shuffled)
        html = _PARA.sub(lambda m: next(it), html)
        head, body = furniture(rng, sentences)
        out.append(html.replace(b"</head>", head + b"</head>", 1)
                   .replace(b"</body>", body + b"</body>", 1))
    return out


def make_sites(pages: list[bytes], sites: int) -> list[DemoSite]:
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    out = [DemoSite(f"site{n:02d}") for n in range(sites)]
    out[0].kind = "sitemap"
    for i, html in enumerate(pages):
        out[i % sites].add(DemoPage(f"/articles/{i}/", html, base + timedelta(minutes=i),
                                    f"Article {i}"))
    return out


def serve(count: int, sites: int, conn) -> None:
    """Child process: serve the sites until told to stop (each page's body
    prepared before the first run, so every round meets the same server)."""
    with DemoServer(make_sites(make_pages(count), sites)) as server:
        server.prepare()
        conn.send([(s.name, s.kind, s.urls[0]) for s in server.sources()])
        conn.recv()


def write_config(path: Path, db: Path, sources, workers: int) -> None:
    lines = [f'db = "{db}"', f"workers = {workers}", "[fetch]", "delay = 0.0", "jitter = 0.0",
             "timeout = 30.0", "allow_private_networks = true"]
    for name, kind, url in sources:
        lines += ["[[source]]", f'name = "{name}"', f'kind = "{kind}"', f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n")


def sample_tree(pid: int, cpu: dict[int, float] | None = None, pss: bool = True) -> int:
    """Proportional set size (PSS: shared pages split between the processes
    sharing them) of a process and all its descendants, from /proc (0 if not
    ``pss``). With ``cpu``, also notes each process's CPU seconds so far
    (key: its pid; the root's main thread under key 0)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            if pss:
                with open(f"/proc/{p}/smaps_rollup") as fh:
                    for line in fh:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
            if cpu is not None:
                cpu[p] = cpu_seconds(p)
                if p == pid:
                    cpu[0] = cpu_seconds(p, p)
            stack.extend(children(p))
        except (OSError, ValueError, IndexError):
            continue
    return total


def machine_busy() -> tuple[float, float]:
    """(CPU seconds spent busy on all cores, wall seconds), from /proc/stat."""
    with open("/proc/stat") as fh:
        ticks = [int(v) for v in fh.readline().split()[1:]]
    idle = ticks[3] + ticks[4]   # idle + iowait
    return (sum(ticks) - idle) / TICK, time.monotonic()


def _children_cpu() -> float:
    import resource
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


@dataclass
class Timed:
    """One `scraper run`: wall seconds, peak PSS of its process tree, its
    summary line, and CPU seconds: all of it (the run and its cleaning
    processes, exact), the run's process and its main thread (as last
    sampled, at most CPU_POLL seconds before it ended), the local server."""
    seconds: float
    peak: int
    line: str
    cpu: float
    run_cpu: float
    main_thread_cpu: float
    server_cpu: float
    busy: list[float]         # cores busy on the machine, second by second

    @property
    def cleaning_cpu(self) -> float:
        return self.cpu - self.run_cpu


CPU_POLL = 0.1   # seconds between two samples of the run's CPU (/proc/PID/stat: cheap)


def timed_run(config: Path, poll: float = 1.0, server: int | None = None) -> Timed:
    """Run `scraper run` once, sampling its memory every ``poll`` seconds
    and its CPU every CPU_POLL. Reading PSS walks each process's page tables
    (~2 ms per 200 MB, holding its memory map lock): sampled every 50 ms it
    took ~15% of the run's throughput; every 0.25 s, over a 17 s run, 0.43 s
    of this process's CPU and ~0.6 s of the kernel's (3% of the machine);
    every second, 0.11 s. The run's memory is flat once its workers have
    cleaned a few pages, so a sample a second finds its peak."""
    cpu0 = _children_cpu()
    server0 = cpu_seconds(server) if server else 0.0
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "scraper", "run", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak, cpu, busy, mark, last = 0, {}, [], time.monotonic(), machine_busy()
    sampled = -poll
    while proc.poll() is None:
        measure = time.monotonic() - sampled >= poll
        peak = max(peak, sample_tree(proc.pid, cpu, pss=measure))
        if measure:
            sampled = time.monotonic()
        time.sleep(min(poll, CPU_POLL))
        if time.monotonic() - mark >= 1.0:  # cores busy (anything on the machine) each second
            now = machine_busy()
            busy.append((now[0] - last[0]) / max(1e-9, now[1] - last[1]))
            mark, last = time.monotonic(), now
    out, err = proc.communicate()
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"run failed ({proc.returncode}): {err.strip()}")
    server_cpu = cpu_seconds(server) - server0 if server else 0.0
    return Timed(seconds, peak, out.strip(), _children_cpu() - cpu0, cpu.get(proc.pid, 0.0),
                 cpu.get(0, 0.0), server_cpu, busy)


def baseline(pages: list[bytes]) -> tuple[float, float]:
    """Single-process scraper.clean over the same pages: (pages/s, CPU s/page)."""
    _clean_page(pages[0], "warm-up")
    started, cpu0 = time.monotonic(), time.process_time()
    for i, html in enumerate(pages):
        _clean_page(html, i)
    return (len(pages) / (time.monotonic() - started),
            (time.process_time() - cpu0) / len(pages))


def _clean_page(html: bytes, i: int | str) -> None:
    """scraper.clean of one page at the URL the run gives it; a failure is
    counted like the run counts it (the page is done)."""
    from scraper.cleaner import clean
    try:
        clean(html.replace(ORIGIN, b"http://127.0.0.1:1"), f"http://127.0.0.1:1/articles/{i}/")
    except Exception:  # noqa: BLE001 - the run counts failures the same way
        pass


def _clean_share(args: tuple[list[bytes], int]) -> float:
    """Clean pages start, start + cores, ... (a forked process's share):
    its CPU seconds."""
    pages, start = args
    cpu0 = time.process_time()
    for i in range(start, len(pages), os.cpu_count() or 1):
        _clean_page(pages[i], i)
    return time.process_time() - cpu0


def ceiling(pages: list[bytes]) -> tuple[float, float]:
    """The machine's own limit: one forked process per core cleaning its
    share of the pages at once, no fetching, no storing, nothing to feed:
    (pages/s, CPU s per page cleaned)."""
    _clean_page(pages[0], "warm-up")   # the cleaner loaded before the fork
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        started = time.monotonic()
        cpu = sum(pool.map(_clean_share, [(pages, k) for k in range(cores)]))
        seconds = time.monotonic() - started
    return len(pages) / seconds, cpu / len(pages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--workers", type=int, default=0, help="cleaning processes (0: every core)")
    ap.add_argument("--poll", type=float, default=1.0,
                    help="seconds between two samples of the run's memory (PSS)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="runs, each between two single-process measurements (median reported)")
    args = ap.parse_args()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(args.pages, args.sites, child), daemon=True)
    server.start()
    sources = parent.recv()
    pages = make_pages(args.pages)
    cores = os.cpu_count()
    # The machine's speed drifts (it is shared): the single-process rate is
    # measured right before and right after each run, and the run compared
    # with their mean.
    print(f"single-process scraper.clean over the same {args.pages} pages ...", flush=True)
    before, base_cpu = baseline(pages)
    rounds = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            db, cfg = Path(tmp) / "bench.db", Path(tmp) / "bench.toml"
            write_config(cfg, db, sources, args.workers)
            one = timed_run(cfg, args.poll, server.pid)
            two = timed_run(cfg, min(args.poll, 0.05), server.pid)
        after, base_cpu = baseline(pages)
        run_rate, base_rate = args.pages / one.seconds, (before + after) / 2
        rounds.append((run_rate / base_rate, run_rate, base_rate, one, two, base_cpu))
        print(f"round {n + 1}: first run: {one.line}  ({one.seconds:.1f} s wall, peak PSS "
              f"{one.peak / 2**20:.0f} MB with workers); second run: {two.line} ({two.seconds:.2f} s); "
              f"single-process clean {before:.1f} pages/s before, {after:.1f} after; "
              f"run {run_rate:.1f} pages/s = {run_rate / base_rate:.2f}x", flush=True)
        before = after
    parent.send("stop")
    server.join(5)
    ceiling_rate, ceiling_cpu = ceiling(pages)
    speedup, run_rate, base_rate, one, two, base_cpu = sorted(rounds, key=lambda r: r[0])[
        len(rounds) // 2]
    share = two.seconds / one.seconds
    per_page = lambda seconds: seconds / args.pages * 1000  # noqa: E731 - ms per page
    print(f"end-to-end run: {run_rate:.1f} pages/s, CPU {per_page(one.cpu):.1f} ms/page "
          f"(run + cleaning processes), {one.cpu / one.seconds:.2f} of {cores} cores busy; "
          f"single-process clean: {base_rate:.1f} pages/s, CPU {base_cpu * 1000:.1f} ms/page")
    print(f"CPU per page: run's process {per_page(one.run_cpu):.2f} ms (main thread "
          f"{per_page(one.main_thread_cpu):.2f}, its other threads "
          f"{per_page(one.run_cpu - one.main_thread_cpu):.2f}), cleaning "
          f"processes {per_page(one.cleaning_cpu):.2f} ms, local server {per_page(one.server_cpu):.2f} ms"
          f" ({(one.cpu + one.server_cpu) / one.seconds:.2f} cores busy with it)")
    print("cores busy on the machine, second by second: "
          + " ".join(f"{b:.1f}" for b in one.busy))
    print(f"(with all {cores} cores to itself the run would do about "
          f"{cores / (one.cpu / args.pages):.0f} pages/s, "
          f"{cores * base_cpu / (one.cpu / args.pages):.2f}x single-process clean by CPU time)")
    print(f"ceiling of this machine: {cores} processes only cleaning the pages (no fetching, no "
          f"storing) {ceiling_rate:.1f} pages/s = {ceiling_rate / base_rate:.2f}x single-process "
          f"clean; CPU {ceiling_cpu * 1000:.1f} ms/page each, against {base_cpu * 1000:.1f} alone")
    print(f"SUMMARY pages={args.pages} sites={args.sites} rounds={args.rounds} "
          f"run={run_rate:.1f} pages/s clean_1proc={base_rate:.1f} pages/s "
          f"speedup={speedup:.2f}x (target >= 1.6) "
          f"peak_pss={max(max(r[3].peak, r[4].peak) for r in rounds) / 2**20:.0f} MB (target < 300) "
          f"second_run={two.seconds:.2f} s = {share:.1%} of first (target < 5%) "
          f"cores_busy={one.cpu / one.seconds:.2f}/{cores} "
          f"clean_only_{cores}proc={ceiling_rate / base_rate:.2f}x")

if __name__ == "__main__":
    main()
