"""`scraper run` as a real process: the lock, SIGKILL then restart, SIGTERM."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from runhelp import PAGES, contents, rows, running, start_sites, write_config
from scraper.config import load_config
from scraper.run import run, run_lock


@pytest.fixture
def sites():
    server = start_sites()
    yield server
    server.__exit__()


# pages of one site this many seconds apart, so a run is stopped half-way: its
# first batch (written SAVE_LINGER after its first article) holds only about
# the first page of each site
SLOW = "delay = 2.0"


def _start(cfg):
    return subprocess.Popen([sys.executable, "-m", "scraper", "run", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(db) -> int:
    try:
        return rows(db, "SELECT count(*) FROM articles")[0][0]
    except Exception:  # not created yet
        return 0


def _wait_for_articles(db, n: int, proc, limit: float = 20.0) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        count = _count(db)
        if count >= n:
            return count
        time.sleep(0.02)
    raise AssertionError(f"no {n} articles stored in time (exit {proc.poll()})")


def _children(pid: int) -> list[int]:
    import os
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            out += [int(c) for c in fh.read().split()]
    return out


def _wait_gone(pids: list[int], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if running(p)]
        time.sleep(0.1)
    assert not alive, f"orphan worker(s) still running: {alive}"


def test_second_run_while_one_holds_the_lock_exits_at_once(sites, tmp_path):
    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db)
    with run_lock(str(db)):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "scraper", "run", "--config", str(cfg)],
                              capture_output=True, text=True, timeout=30)
        assert time.monotonic() - started < 10
    assert proc.returncode == 0
    assert "another run holds" in proc.stderr and proc.stderr.count("\n") == 1
    assert sites.take_hits() == []


def test_sigkill_then_restart_gives_the_same_database(sites, tmp_path):
    reference = tmp_path / "ref.db"
    settings, sources = load_config(write_config(tmp_path / "ref.toml", sites, reference))
    assert run(settings, sources).new == PAGES

    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db, extra=SLOW)
    cfg.write_text(cfg.read_text().replace("delay = 0.0\n", ""))
    proc = _start(cfg)
    stored = _wait_for_articles(db, 3, proc)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert 3 <= stored < PAGES and _count(db) < PAGES
    assert workers, "the run cleans in worker processes"
    _wait_gone(workers)   # no orphan cleaning process is left behind
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    again = subprocess.run([sys.executable, "-m", "scraper", "run", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert contents(db) == contents(reference)
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == PAGES


def test_sigterm_stops_cleanly_and_releases_the_lock(sites, tmp_path):
    from filelock import FileLock

    db = tmp_path / "s.db"
    cfg = write_config(tmp_path / "c.toml", sites, db, extra=SLOW)
    cfg.write_text(cfg.read_text().replace("delay = 0.0\n", ""))
    proc = _start(cfg)
    _wait_for_articles(db, 1, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert "(interrupted)" in out and "Traceback" not in err
    lock = FileLock(f"{db}.lock", timeout=0)
    lock.acquire()
    lock.release()
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    partial = _count(db)
    assert partial < PAGES
    settings, sources = load_config(cfg)
    assert run(settings, sources).new == PAGES - partial


def test_a_store_that_cannot_be_opened_leaves_no_cleaning_process(sites, tmp_path):
    """The cleaning processes start before the store opens: a run refused
    its database stops them before it raises (and a command says so in one line)."""
    import os

    from scraper.errors import StoreError

    db = tmp_path / "s.db"
    junk = b"this is not an SQLite file " * 100
    db.write_bytes(junk)
    cfg = write_config(tmp_path / "c.toml", sites, db)
    settings, sources = load_config(cfg)
    with pytest.raises(StoreError, match="s.db"):
        run(settings, sources)
    assert _children(os.getpid()) == []
    proc = subprocess.run([sys.executable, "-m", "scraper", "run", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1, proc.stderr   # an error of the store, as in every command
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert sites.take_hits() == [] and db.read_bytes() == junk
