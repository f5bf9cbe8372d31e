"""Shared test helpers. tests/ has no __init__.py: `import scraper` resolves to
the installed package (CI installs it non-editable)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
ARTICLE_BENCHMARK = SHARED / "benchmarks" / "article-extraction-benchmark"
sys.path.insert(0, str(ROOT / "benchmarks"))  # scoring.py, the metric ports


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
