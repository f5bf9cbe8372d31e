"""The metric ports in benchmarks/scoring.py agree with the shared tools."""
from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import ARTICLE_BENCHMARK, FIXTURES, SHARED
from scoring import article_f1, load_truths, score_fixtures

TOOLS = SHARED / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not (TOOLS / "score_records.py").exists(), reason="shared tools not present")
def test_fixture_metrics_match_score_records(tmp_path):
    tool = _load("score_records")
    truths = load_truths(FIXTURES)
    # imperfect records so the metrics are not all trivially 1 or 0
    records = {}
    for i, (name, t) in enumerate(sorted(truths.items())):
        body = t["body_paragraphs"][: max(1, len(t["body_paragraphs"]) - i % 3)]
        records[name] = {"url": t["url"], "text": "\n\n".join(body + t["boilerplate_paragraphs"][: i % 4]),
                         "title": t["title"] if i % 2 else "x", "authors": t["author"],
                         "published": t["date"], "language": "en", "original_source": t["original_source"]}
    ours = score_fixtures(records, truths)
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records.values()), encoding="utf-8")
    out = tmp_path / "o.json"
    tool.main([str(path), str(FIXTURES), "--json", str(out)])
    theirs = json.loads(out.read_text())["summary"]
    for key in ("recall", "residue", "joins", "meta"):
        assert ours[key] == pytest.approx(theirs[key]), key
    for field, value in theirs["meta_fields"].items():
        assert ours["fields"][field] == pytest.approx(value), field


@pytest.mark.skipif(not (TOOLS / "eval_article_benchmark.py").exists() or not ARTICLE_BENCHMARK.exists(),
                    reason="shared tools or benchmark not present")
def test_article_f1_matches_eval_tool():
    tool = _load("eval_article_benchmark")
    gt = json.loads((ARTICLE_BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(gt)[:40]
    truths = {k: gt[k]["articleBody"] for k in keys}
    preds = {k: (v[: len(v) // (1 + i % 3)] if i % 5 else "") for i, (k, v) in enumerate(truths.items())}
    assert article_f1(truths, preds)["f1"] == pytest.approx(tool.score(truths, preds)["f1"])
