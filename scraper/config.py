"""Settings: frozen value objects with named defaults.

Loading and strict validation of ``config/scraper.toml`` and sources files
live here too (see ``load_settings``); unknown keys are refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import __version__

DEFAULT_CONTACT = "https://example.invalid/scraper-contact"
DEFAULT_DB = "scraper.db"


def default_user_agent(contact: str = DEFAULT_CONTACT) -> str:
    return f"scraper/{__version__} (+{contact})"


@dataclass(frozen=True)
class FetchSettings:
    """Everything the fetcher needs; every number has a named default."""
    user_agent: str = default_user_agent()
    concurrency: int = 16            # global limit on requests in flight
    per_host_connections: int = 1    # one connection at a time per host
    delay: float = 1.0               # seconds between requests to one host
    jitter: float = 0.5              # up to this many extra seconds, random
    timeout: float = 30.0            # total deadline per fetch: connect, headers, body
    max_bytes: int = 10 * 1024 * 1024  # body cap, raw and decoded
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 0.5             # first retry waits about this long, doubling
    retry_after_cap: float = 120.0   # Retry-After beyond this: give the URL up for this run
    obey_robots: bool = True
    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()  # CIDRs let through even when private ones are refused
    max_crawl_delay: float = 60.0    # a robots.txt Crawl-delay is honoured up to this
    robots_max_bytes: int = 512 * 1024  # robots.txt larger than this: treated as absent
    ca_bundle: str | None = None     # extra trusted CA file (PEM); certificates are always verified


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_DB
    contact: str = DEFAULT_CONTACT
    fetch: FetchSettings = FetchSettings()
