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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ScraperError as exc:  # a library error that escaped a command
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
