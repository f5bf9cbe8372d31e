"""The command line: a click group whose commands are thin wrappers over the
library. Library errors become one-line messages and a non-zero exit, never
a traceback. This is the only module that knows about click."""
from __future__ import annotations

import json
import sys

import click

from . import __version__
from .errors import ScraperError


class Fail(click.ClickException):
    """A one-line error: 'Error: ...' on stderr, exit code 1."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scraper")
def cli():
    """Scrape syndicated articles, strip republication notices, keep clean records in SQLite."""


def _emit(record: dict, fmt: str) -> None:
    if fmt == "jsonl":
        click.echo(json.dumps(record, ensure_ascii=False))
    else:
        head = record.get("title") or record.get("url") or ""
        click.echo(f"# {head}\n")
        click.echo(record.get("text", ""))
        click.echo()


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--url", help="URL the page came from (default: its canonical URL).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True)
def extract(files, url, fmt):
    """Clean saved HTML FILE(s) ('-' for stdin): one record per input, in order."""
    from .cleaner import clean

    failed = 0
    for name in files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else _read_file(name)
            article = clean(data, url)
        except ScraperError as exc:
            failed += 1
            click.echo(f"error: {name}: {exc}", err=True)
            continue
        _emit(article.to_dict(), fmt)
    if failed:
        sys.exit(1)


def _read_file(name: str) -> bytes:
    try:
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ScraperError(exc.strerror or str(exc)) from exc


# ---- store commands (issue 5): read commands open the file read-only and ----
# ---- import neither trafilatura nor httpx --------------------------------
_FORMATS = ["table", "jsonl", "csv"]


def _db_option(func):
    return click.option("--db", "db", envvar="SCRAPER_DB", default="scraper.db", show_default=True,
                        help="SQLite file (env SCRAPER_DB).")(func)


def _open_readonly(db: str):
    from .store import Store
    try:
        return Store.open_readonly(db)
    except ScraperError as exc:
        raise Fail(str(exc)) from exc


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _print_rows(columns, rows, fmt: str) -> None:
    """Stream rows as jsonl, csv, or a table (rich on a terminal, tab-separated
    otherwise). A reader that goes away (`| head`) ends the output quietly."""
    try:
        _write_rows(columns, rows, fmt)
        sys.stdout.flush()
    except BrokenPipeError:
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


def _write_rows(columns, rows, fmt: str) -> None:
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row)), ensure_ascii=False, default=str))
    elif fmt == "csv":
        import csv
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    elif sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        table = Table(*columns)
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        Console().print(table)
    else:
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(_cell(v).replace("\t", " ").replace("\n", " ") for v in row))


def _run(func):
    """Call func, turning library errors into a one-line error and exit 1."""
    try:
        return func()
    except ScraperError as exc:
        raise Fail(str(exc)) from exc


@cli.command()
@click.argument("query")
@click.option("--site", help="Only this site name or domain.")
@click.option("--language", help="Only this language (ISO 639-1, e.g. fr).")
@click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="table", show_default=True)
@_db_option
def search(query, site, language, since, limit, fmt, db):
    """Full-text search of titles and texts, best match first, with a snippet.
    Words are matched literally (all of them); end a word with * for a prefix."""
    with _open_readonly(db) as store:
        hits = _run(lambda: store.search(query, site=site, language=language, since=since,
                                         limit=limit))
    if fmt == "table":
        cols = ["id", "site", "language", "published", "title", "snippet"]
    else:
        cols = list(hits[0]) if hits else ["id"]
    _print_rows(cols, ([h[c] for c in cols] for h in hits), fmt)


@cli.command()
@click.argument("sql")
@click.option("-p", "--param", "params", type=(str, str), multiple=True, metavar="NAME VALUE",
              help="Bind :NAME to VALUE (repeatable). Values are bound, never interpolated.")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="table", show_default=True)
@_db_option
def query(sql, params, fmt, db):
    """Run one read-only SQL statement on the database (writes are refused)."""
    with _open_readonly(db) as store:
        columns, rows = _run(lambda: store.query(sql, dict(params)))
        _run(lambda: _print_rows(columns, rows, fmt))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--site", help="Only this site name or domain.")
@click.option("--language", help="Only this language.")
@_db_option
def export(fmt, since, site, language, db):
    """Stream all matching records, oldest first, as JSON Lines or CSV."""
    from .store.read import RECORD_FIELDS
    with _open_readonly(db) as store:
        records = _run(lambda: store.export(since=since, site=site, language=language))
        rows = ([r[f] for f in RECORD_FIELDS] for r in records)
        _run(lambda: _print_rows(list(RECORD_FIELDS), rows, fmt))


@cli.command()
@click.argument("url_or_id")
@_db_option
def show(url_or_id, db):
    """Print one stored record (by URL or row id) as JSON."""
    with _open_readonly(db) as store:
        record = _run(lambda: store.get(url_or_id))
    if record is None:
        raise Fail(f"no article {url_or_id}")
    record.pop("norm_url", None)
    click.echo(json.dumps(record, ensure_ascii=False, indent=2))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@_db_option
def stats(fmt, db):
    """Counts by site, language, original_source and fetch outcome."""
    with _open_readonly(db) as store:
        data = _run(store.stats)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if isinstance(value, list):
            click.echo(f"{key}:")
            for item in value:
                click.echo(f"  {item['count']:>8}  {_cell(item['value']) or '(none)'}")
        else:
            click.echo(f"{key}: {_cell(value)}")


@cli.command()
@click.argument("url_or_id")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="table", show_default=True)
@_db_option
def copies(url_or_id, fmt, db):
    """List the copies of an article (same story on other sites), original first."""
    with _open_readonly(db) as store:
        members = _run(lambda: store.copies(url_or_id))
    cols = ["id", "site", "language", "published", "original_source", "is_original", "url"]
    _print_rows(cols, ([m[c] for c in cols] for m in members), fmt)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8001, show_default=True)
@_db_option
def serve(host, port, db):
    """Browse the database with Datasette (needs the 'web' extra)."""
    from .store.web import serve as run_datasette
    sys.exit(_run(lambda: run_datasette(db, host=host, port=port)))
# ---- end of store commands -------------------------------------------------


# ---------------------------------------------------------------------- fetch (issue 4)

@cli.command("fetch")
@click.argument("urls", nargs=-1, required=True)
@click.option("--db", "db_path", envvar="SCRAPER_DB", type=click.Path(dir_okay=False),
              help="SQLite file to store records in (env SCRAPER_DB; default: the config's db).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Settings file (env SCRAPER_CONFIG; default config/scraper.toml if present).")
@click.option("--no-store", is_flag=True, help="Print records only; do not store them.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True)
@click.option("--allow-private", is_flag=True,
              help="Allow private, loopback and link-local addresses (tests, demos, intranets).")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Total deadline per request, seconds.")
@click.option("--delay", type=click.FloatRange(min=0), help="Seconds between requests to one host.")
def fetch_cmd(urls, db_path, config_path, no_store, fmt, allow_private, timeout, delay):
    """Fetch, clean and store URL(s): one record per success on stdout, one
    'error: URL: reason' line per failure on stderr; exit 1 if any failed."""
    import asyncio

    settings = _load_config(config_path)[0]
    fetch_settings = _fetch_settings(allow_private, timeout, delay, settings.fetch)
    store = None if no_store else _open_store(db_path or settings.db)
    try:
        failed = asyncio.run(_fetch_and_print(urls, fetch_settings, fmt, store))
    finally:
        if store is not None:
            store.close()
    if failed:
        sys.exit(1)


def _open_store(db: str):
    from .store import Store
    try:
        return Store(db)
    except ScraperError as exc:
        raise Fail(str(exc)) from exc


def _fetch_settings(allow_private: bool, timeout: float | None, delay: float | None,
                    base=None):
    from dataclasses import replace

    from .config import FetchSettings

    base = base or FetchSettings()
    changes = {"allow_private_networks": True} if allow_private else {}
    if timeout is not None:
        changes["timeout"] = timeout
    if delay is not None:
        changes.update(delay=delay, jitter=min(base.jitter, delay))
    return replace(base, **changes)


async def _fetch_and_print(urls, settings, fmt: str, store=None) -> int:
    from .pipeline import fetch_and_clean, store_result

    clean_fn = None
    if store is not None:
        from .pipeline import template_clean
        clean_fn = template_clean(store, urls)
    failed = 0
    async for result in fetch_and_clean(urls, settings, clean_fn=clean_fn):
        if store is not None:
            try:
                store_result(store, result)
            except ScraperError as exc:
                result = type(result)(result.url, result.page, None, exc)
        if result.error is not None:
            failed += 1
            click.echo(f"error: {result.url}: {result.error}", err=True)
        elif result.article is None:
            click.echo(f"{result.url}: not modified", err=True)
        else:
            record = result.article.to_dict()
            record["final_url"] = result.page.final_url
            record["fetched_at"] = result.page.fetched_at
            _emit(record, fmt)
    return failed


# ---- cron job and demo (issue 6) -------------------------------------------
class ConfigFail(click.ClickException):
    """A configuration or usage error: one line on stderr, exit code 2."""
    exit_code = 2


def _load_config(path):
    from .config import load_config
    try:
        return load_config(path)
    except ScraperError as exc:
        raise ConfigFail(str(exc)) from exc


@cli.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Settings file (env SCRAPER_CONFIG; default config/scraper.toml).")
@click.option("--db", "db_path", envvar="SCRAPER_DB", type=click.Path(dir_okay=False),
              help="SQLite file (env SCRAPER_DB; default: the config's db).")
@click.option("--source", "only", multiple=True, metavar="NAME",
              help="Only this source (repeatable).")
@click.option("--max-items", type=click.IntRange(min=1),
              help="At most N items per source this run (the rest wait for the next run).")
@click.option("--refresh", is_flag=True,
              help="Fetch items again even if stored (conditional GET; changed pages updated).")
@click.option("--dry-run", is_flag=True, help="Discover and list what would be fetched; store nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing (the exit code tells).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object a line (failures, sources, summary) for log collectors.")
def run_cmd(config_path, db_path, only, max_items, refresh, dry_run, quiet, log_format):
    """The cron job: discover, fetch, clean and store new items of every source.

    Progress bars on a terminal; otherwise only a one-line summary. Exit 0 if
    all went well, 1 if some items failed (the rest are stored), 2 for a
    configuration or usage error; a run already holding the lock makes this
    one exit at once with 0."""
    settings, sources = _load_config(config_path)
    sys.exit(_run_job(lambda progress: _call_run(settings, sources, db_path, only, max_items,
                                                 refresh, dry_run, progress),
                      quiet=quiet, log_format=log_format, dry_run=dry_run))


def _call_run(settings, sources, db, only, max_items, refresh, dry_run, progress):
    from .run import run
    return run(settings, sources, db, only=only, max_items=max_items, refresh=refresh,
               dry_run=dry_run, progress=progress)


def _run_job(call, *, quiet: bool, log_format: str, dry_run: bool = False) -> int:
    """Run with the right reporter; print the summary; the exit code."""
    from .errors import AlreadyRunning, ConfigError

    reporter, bars = _reporter(quiet, log_format, dry_run)
    try:
        if bars is not None:
            with bars:
                summary = call(reporter)
        else:
            summary = call(reporter)
    except AlreadyRunning as exc:
        if not quiet:
            click.echo(f"scraper run: {exc}", err=True)
        return 0
    except ConfigError as exc:
        raise ConfigFail(str(exc)) from exc
    except ScraperError as exc:
        raise Fail(str(exc)) from exc
    if not quiet:
        if log_format == "json":
            reporter.summary(summary)
        else:
            click.echo(summary.line())
    if summary.interrupted:
        return 130
    return 1 if summary.failed else 0


def _reporter(quiet: bool, log_format: str, dry_run: bool):
    if quiet:
        return None, None
    if log_format == "json":
        from .progress import JsonLines
        return JsonLines(), None
    if dry_run:
        return _print_would_fetch, None
    if sys.stderr.isatty():
        from .progress import Bars
        bars = Bars()
        return bars, bars
    return None, None


def _print_would_fetch(event) -> None:
    if event.kind == "would_fetch":
        click.echo(f"{event.source}\t{event.url}")


@cli.command()
@click.option("--db", "db_path", default="demo.db", show_default=True,
              type=click.Path(dir_okay=False), help="SQLite file to fill.")
@click.option("--pages", type=click.Path(file_okay=False),
              help="Folder of .html pages to serve (default: ./fixtures).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Cleaning processes (0: one per core).")
def demo(db_path, pages, workers):
    """Run the cron job on bundled pages served by local sites (no network):
    prints the summary, a few records with their original_source and a search."""
    import os

    from .demo import run_demo

    if pages is None:
        if not os.path.isdir("fixtures"):
            raise ConfigFail("no ./fixtures folder here: run from the project root or pass "
                             "--pages DIR (a folder of .html pages)")
        pages = "fixtures"
    try:
        summary = run_demo(db_path, pages, echo=click.echo, workers=workers)
    except ScraperError as exc:
        raise (ConfigFail if type(exc).__name__ == "ConfigError" else Fail)(str(exc)) from exc
    sys.exit(1 if summary.failed else 0)
# ---- end of cron job and demo ------------------------------------------------


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ScraperError as exc:  # a library error that escaped a command
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
