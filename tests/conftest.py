"""Shared fixtures: a misbehaving HTTP server on 127.0.0.1 (see badserver.py)."""
from __future__ import annotations

import pytest

from badserver import BadServer


@pytest.fixture
def server():
    with BadServer() as srv:
        yield srv
