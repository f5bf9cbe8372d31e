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
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="SQLite file to store records in.")
@click.option("--no-store", is_flag=True, help="Print records only; do not store them.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True)
@click.option("--allow-private", is_flag=True,
              help="Allow private, loopback and link-local addresses (tests, demos, intranets).")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Total deadline per request, seconds.")
@click.option("--delay", type=click.FloatRange(min=0), help="Seconds between requests to one host.")
def fetch_cmd(urls, db_path, no_store, fmt, allow_private, timeout, delay):
    """Fetch and clean URL(s): one record per success on stdout, one
    'error: URL: reason' line per failure on stderr; exit 1 if any failed."""
    import asyncio

    if not no_store:
        click.echo("note: storage is not available yet; records are printed only "
                   "(as with --no-store)", err=True)
    settings = _fetch_settings(allow_private, timeout, delay)
    failed = asyncio.run(_fetch_and_print(urls, settings, fmt))
    if failed:
        sys.exit(1)


def _fetch_settings(allow_private: bool, timeout: float | None, delay: float | None):
    from dataclasses import replace

    from .config import FetchSettings

    changes = {"allow_private_networks": True} if allow_private else {}
    if timeout is not None:
        changes["timeout"] = timeout
    if delay is not None:
        changes.update(delay=delay, jitter=min(FetchSettings.jitter, delay))
    return replace(FetchSettings(), **changes)


async def _fetch_and_print(urls, settings, fmt: str) -> int:
    from .pipeline import fetch_and_clean

    failed = 0
    async for result in fetch_and_clean(urls, settings):
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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ScraperError as exc:  # a library error that escaped a command
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
