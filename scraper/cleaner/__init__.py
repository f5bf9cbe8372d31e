"""The cleaner: HTML in, Article out. No I/O, deterministic."""
from __future__ import annotations

from .core import clean

__all__ = ["clean"]
