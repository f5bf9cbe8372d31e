"""Helpers for the cron-job tests: the demo's multi-site server on 127.0.0.1
and a settings file pointing at it."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from scraper.demo import DemoServer, sites_from_folder

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
PAGES = len(list(FIXTURES.glob("*.truth.json")))  # every fixture page is an article of some demo site


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the process's name (state, ppid,
    ...; the name may hold spaces and brackets). OSError if it is gone."""
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a killed orphan stays one
    until init reaps it, which this machine's init does 1.7-1.9 s later)."""
    try:
        return proc_stat(pid)[0] != "Z"
    except OSError:
        return False


def start_sites(folder: Path = FIXTURES) -> DemoServer:
    return DemoServer(sites_from_folder(folder)).__enter__()


def write_config(path: Path, server: DemoServer, db: Path, *, timeout: float = 5.0,
                 extra: str = "") -> Path:
    """A settings file with inline [[source]] tables for every demo site."""
    lines = [f'db = "{db}"', "workers = 2", "[fetch]", "delay = 0.0", "jitter = 0.0",
             f"timeout = {timeout}", "retries = 0", "allow_private_networks = true", extra]
    for src in server.sources():
        lines += ["[[source]]", f'name = "{src.name}"', f'kind = "{src.kind}"',
                  f'url = "{src.urls[0]}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def truths(folder: Path = FIXTURES) -> dict[str, dict]:
    """Truth files keyed by the path of their page's URL."""
    from urllib.parse import urlsplit
    out = {}
    for f in folder.glob("*.truth.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        out[urlsplit(data["url"]).path] = data
    return out


def rows(db: Path, sql: str, *params):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def contents(db: Path) -> set[tuple[str, str]]:
    return set(rows(db, "SELECT url, content_hash FROM articles"))
