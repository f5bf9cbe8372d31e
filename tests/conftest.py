"""Shared test helpers. tests/ has no __init__.py: `import scraper` resolves to
the installed package (CI installs it non-editable). Fixtures: the fixtures
folder, and a misbehaving HTTP server on 127.0.0.1 (see badserver.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
ARTICLE_BENCHMARK = SHARED / "benchmarks" / "article-extraction-benchmark"
sys.path.insert(0, str(ROOT / "benchmarks"))  # scoring.py, the metric ports

from badserver import BadServer  # noqa: E402


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def server():
    with BadServer() as srv:
        yield srv
