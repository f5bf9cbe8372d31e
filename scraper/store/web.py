"""Datasette metadata and launcher for ``scraper serve`` (extra ``web``)."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from typing import Any

from ..errors import StoreError

FACETS = ["site", "language", "original_source"]
_HIDDEN = ["article_sketches", "minhash_bands", "minhash_bands_main", "minhash_bands_recent",
           "site_paragraphs_main", "site_paragraphs_recent"]


def datasette_metadata(db_path: str) -> dict[str, Any]:
    """Metadata naming the tables, with facets on site, language and
    original_source and the FTS table wired to the articles' search box."""
    name = os.path.splitext(os.path.basename(db_path))[0]
    tables = {
        "articles": {
            "description": "Clean articles, one row per normalised URL. story_id groups "
                           "near-duplicate copies of one story across sites.",
            "facets": FACETS, "fts_table": "articles_fts", "fts_pk": "id",
            "label_column": "title", "sort_desc": "updated_at",
        },
        "fetches": {"description": "One row per fetch attempt: status, outcome, error, validators.",
                    "facets": ["outcome", "status"], "sort_desc": "id"},
        "sources": {"description": "Configured sources: last run, last success, last error, "
                                   "discovery state (JSON)."},
        "site_paragraphs": {"description": "Template memory: paragraph keys per site and the "
                                           "number of distinct pages they were seen on."},
    }
    tables.update({t: {"hidden": True} for t in _HIDDEN})
    return {"title": "scraper", "description": "Articles collected by scraper",
            "databases": {name: {"tables": tables}}}


def serve(db_path: str, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette on the file until interrupted; returns its exit code."""
    if importlib.util.find_spec("datasette") is None:
        raise StoreError("datasette is not installed: pip install 'scraper[web]'")
    if not os.path.isfile(db_path):
        raise StoreError(f"no database at {db_path}")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(datasette_metadata(db_path), fh)
    cmd = [sys.executable, "-m", "datasette", "serve", db_path, "--metadata", fh.name,
           "--host", host, "--port", str(port)]
    try:
        return _run_forwarding_signals(cmd)
    finally:
        os.unlink(fh.name)


def _run_forwarding_signals(cmd: list[str]) -> int:
    """Run cmd; a SIGTERM to us is passed on, so the server never outlives us."""
    proc = subprocess.Popen(cmd)
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: proc.send_signal(signum))
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to both of us
        proc.send_signal(signal.SIGINT)
        proc.wait()
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
