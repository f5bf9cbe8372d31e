"""The hand-built English fixtures are self-consistent and match their hand-written source."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load("check_fixtures", ROOT / "benchmarks" / "check_fixtures.py")


def test_english_fixtures_pass_the_checker():
    assert check.main([str(FIXTURES), "--prefix", "en_"]) == 0


def test_english_fixture_set_covers_the_brief():
    truths = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in FIXTURES.glob("en_*.truth.json")}
    assert len(truths) >= 13
    assert all(t["language"] == "en" for t in truths.values())
    assert sum(len(t["split_joins"]) for t in truths.values()) >= 4
    assert sum(1 for t in truths.values() if t["split_joins"]) >= 3
    assert any(isinstance(t["author"], list) and len(t["author"]) == 2 for t in truths.values())
    assert any(isinstance(t["author"], list) and len(t["author"]) == 3 for t in truths.values())
    assert any(t["original_source"] is None for t in truths.values())
    assert any(t["original_source"] == "The Conversation" and t.get("original_url") for t in truths.values())


def test_checker_reports_a_broken_truth(tmp_path):
    name = "en_cp_bases_nobody_counts"
    for ext in (".html", ".truth.json"):
        shutil.copy(FIXTURES / f"{name}{ext}", tmp_path / f"{name}{ext}")
    truth_path = tmp_path / f"{name}.truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    truth["split_joins"][0]["right"] = "Not a paragraph of this page"
    truth["body_paragraphs"].append("Words zyxwvut that the page never shows.")
    truth_path.write_text(json.dumps(truth), encoding="utf-8")
    assert check.main([str(tmp_path)]) == 1
    problems = "\n".join(check.check_one(name, tmp_path))
    assert "split right not a <p> text" in problems
    assert "words not in page" in problems


def test_committed_english_fixtures_match_their_source(tmp_path):
    sys.path.insert(0, str(FIXTURES / "_src"))
    try:
        build = _load("build_en", FIXTURES / "_src" / "build_en.py")
        build.main(tmp_path)
    finally:
        sys.path.remove(str(FIXTURES / "_src"))
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in FIXTURES.glob("en_*.*"))
    for fname in built:
        assert (tmp_path / fname).read_bytes() == (FIXTURES / fname).read_bytes(), fname
