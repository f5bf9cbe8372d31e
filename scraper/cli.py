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
