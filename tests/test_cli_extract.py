"""`scraper extract`: the real command, on fixture files, stdin and bad files."""
from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from scraper.cli import cli


def run(args, **kw):
    return CliRunner().invoke(cli, ["extract", *args], **kw)


def test_jsonl_one_record_per_file_in_order(fixtures_dir):
    files = [fixtures_dir / "fr_mondialisation_seed.html", fixtures_dir / "en_tc_coral_reefs_own.html"]
    res = run([str(f) for f in files])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert first["original_source"] == "CounterPunch" and first["language"] == "en"
    assert first["url"].startswith("https://www.mondialisation.ca/")  # canonical URL, no --url given
    assert second["original_source"] is None
    for key in ("url", "final_url", "canonical_url", "site", "domain", "title", "authors", "published",
                "language", "page_language", "original_source", "original_url", "text", "removed",
                "word_count", "content_hash", "fetched_at"):
        assert key in first


def test_url_option_and_text_format(fixtures_dir):
    res = run(["--url", "https://mirror.example/x", "--format", "text", str(fixtures_dir / "fr_mondialisation_seed.html")])
    assert res.exit_code == 0
    assert res.stdout.startswith("# Putin's Aleppo Gamble Pays Off")
    assert "Complicating the picture" in res.stdout
    assert "La source originale" not in res.stdout


def test_stdin(fixtures_dir):
    data = (fixtures_dir / "es_rebelion_elsalto.html").read_bytes()
    res = run(["-"], input=data)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["page_language"] == "es"


def test_bad_file_does_not_stop_the_others(tmp_path, fixtures_dir):
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    png = tmp_path / "img.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    good = fixtures_dir / "en_cp_bases_nobody_counts.html"
    res = run([str(empty), str(good), str(png), str(tmp_path / "missing.html")])
    assert res.exit_code == 1
    assert len(res.stdout.strip().splitlines()) == 1
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 3
    assert str(empty) in errors[0] and "empty" in errors[0]
    assert str(png) in errors[1] and "binary" in errors[1]
    assert "missing.html" in errors[2]


def test_no_traceback_in_a_real_process(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    proc = subprocess.run([sys.executable, "-m", "scraper", "extract", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and str(bad) in proc.stderr
