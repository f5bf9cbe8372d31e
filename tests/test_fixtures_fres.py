"""Structural checks of the French/Spanish hand-built fixtures (truth consistent with the pages)."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
NAMES = sorted(p.name[: -len(".truth.json")] for p in FIXTURES.glob("*.truth.json")
               if p.name.startswith(("fr_", "es_")))


def _checker():
    spec = importlib.util.spec_from_file_location("check_fixtures", ROOT / "benchmarks" / "check_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHECK = _checker()


def test_there_are_french_and_spanish_fixtures():
    assert sum(n.startswith("fr_") for n in NAMES) >= 9
    assert sum(n.startswith("es_") for n in NAMES) >= 4


@pytest.mark.parametrize("name", NAMES)
def test_truth_matches_page(name):
    assert CHECK.check_one(name, FIXTURES) == []


def test_splits_cover_both_languages():
    splits = {n: len(json.loads((FIXTURES / f"{n}.truth.json").read_text(encoding="utf-8"))["split_joins"])
              for n in NAMES}
    assert sum(v for n, v in splits.items() if n.startswith("fr_")) >= 4
    assert sum(v for n, v in splits.items() if n.startswith("es_")) >= 4
    assert sum(1 for v in splits.values() if v) >= 3


def test_checker_reports_a_broken_split(tmp_path):
    name = "fr_pressenza_basta"
    for suffix in (".html", ".truth.json"):
        (tmp_path / f"{name}{suffix}").write_bytes((FIXTURES / f"{name}{suffix}").read_bytes())
    truth = json.loads((tmp_path / f"{name}.truth.json").read_text(encoding="utf-8"))
    truth["split_joins"][0]["left"] += " mais"
    (tmp_path / f"{name}.truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    problems = CHECK.check_one(name, tmp_path)
    assert any("split left" in p for p in problems), problems
