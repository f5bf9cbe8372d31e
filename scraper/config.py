"""Settings: frozen value objects with named defaults, and strict loading of
``config/scraper.toml`` (or ``--config`` / ``SCRAPER_CONFIG``) and of sources.

Layout of a settings file (every key optional)::

    db = "scraper.db"                      # relative to the working directory
    contact = "https://example.org/about"  # goes into the User-Agent
    sources = "sources.toml"               # relative to this file
    workers = 0                            # cleaning processes; 0 = every core
    [fetch]                                # any FetchSettings field
    delay = 1.0
    [[source]]                             # inline sources, as in a sources file
    name = "gr"
    kind = "feed"
    url = "https://www.globalresearch.ca/feed"

Unknown keys and bad values raise ConfigError naming the file, the key path
(``[[source]] #2 "gr".delay``) or the TOML line, and what is expected.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .errors import ConfigError

DEFAULT_CONTACT = "https://example.invalid/scraper-contact"
DEFAULT_DB = "scraper.db"
DEFAULT_CONFIG = "config/scraper.toml"
CONFIG_ENV = "SCRAPER_CONFIG"
SOURCE_KINDS = ("feed", "sitemap", "urls", "homepage")


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
    sources: str | None = None       # path of a sources file (absolute once loaded)
    workers: int = 0                 # cleaning processes for `scraper run`; 0 = every core
    path: str | None = None          # the settings file these came from (None: defaults)


@dataclass(frozen=True)
class Source:
    """One configured source. ``kind``: feed (RSS/Atom URLs), sitemap
    (sitemap or sitemap index URLs), urls (article URLs), homepage (pages
    whose <link rel="alternate"> feeds are discovered)."""
    name: str
    kind: str
    urls: tuple[str, ...]
    delay: float | None = None        # overrides [fetch] delay for this source
    concurrency: int | None = None    # overrides [fetch] concurrency for this source
    language: str | None = None       # hint when the page declares no language
    rules: str | None = None          # extra notice rules file (TOML, the cleaner's format)
    enabled: bool = True


# ---------------------------------------------------------------------- checks
# Each check returns the converted value or raises ValueError("expected ...").

def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("expected true or false")
    return v


def _int(minimum: int = 0):
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(f"expected an integer >= {minimum}")
        return v
    return check


def _float(minimum: float = 0.0, *, above: bool = False):
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"expected a number {'>' if above else '>='} {minimum}")
        if v < minimum or (above and v == minimum):
            raise ValueError(f"expected a number {'>' if above else '>='} {minimum}")
        return float(v)
    return check


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected a non-empty string")
    return v


def _http_url(v: Any) -> str:
    if not isinstance(v, str) or urlsplit(v).scheme not in ("http", "https") \
            or not urlsplit(v).hostname or any(c.isspace() for c in v):
        raise ValueError("expected an http(s) URL")
    return v


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError("expected a list of strings")
    return tuple(v)


def _language(v: Any) -> str:
    if not isinstance(v, str) or not (2 <= len(v) <= 3) or not v.isalpha():
        raise ValueError("expected an ISO 639-1 code such as \"fr\"")
    return v.lower()


def _kind(v: Any) -> str:
    if v not in SOURCE_KINDS:
        raise ValueError(f"expected one of {', '.join(SOURCE_KINDS)}")
    return v


def _name(v: Any) -> str:
    if not isinstance(v, str) or not v or not all(c.isalnum() or c in "-_." for c in v):
        raise ValueError("expected a name of letters, digits, '-', '_' or '.'")
    return v


_FETCH_CHECKS = {
    "user_agent": _str, "concurrency": _int(1), "per_host_connections": _int(1),
    "delay": _float(), "jitter": _float(), "timeout": _float(0, above=True),
    "max_bytes": _int(1), "max_redirects": _int(0), "retries": _int(0), "backoff": _float(),
    "retry_after_cap": _float(), "obey_robots": _bool, "allow_private_networks": _bool,
    "allowed_networks": _str_list, "max_crawl_delay": _float(),
    "robots_max_bytes": _int(1), "ca_bundle": _str,
}
_TOP_CHECKS = {"db": _str, "contact": _http_url, "sources": _str, "workers": _int(0)}
_SOURCE_CHECKS = {
    "name": _name, "kind": _kind, "url": _http_url, "urls": _str_list, "delay": _float(),
    "concurrency": _int(1), "language": _language, "rules": _str, "enabled": _bool,
}
assert set(_FETCH_CHECKS) == {f.name for f in fields(FetchSettings)}


# ---------------------------------------------------------------------- loading

def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def _checked(table: dict[str, Any], checks: dict, where: str, path: Path) -> dict[str, Any]:
    """Each key validated; an unknown key or bad value is a ConfigError."""
    out = {}
    for key, value in table.items():
        label = f"{where}.{key}" if where else key
        check = checks.get(key)
        if check is None:
            raise ConfigError(f"{path}: {label}: unknown key (expected one of: "
                              f"{', '.join(sorted(checks))})")
        try:
            out[key] = check(value)
        except ValueError as exc:
            raise ConfigError(f"{path}: {label}: {exc}, got {_show(value)}") from None
    return out


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    """The settings file to read: ``explicit``, else $SCRAPER_CONFIG, else
    config/scraper.toml if it exists, else None (defaults)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG)
    return default if default.is_file() else None


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Settings from a file (see ``config_path``); defaults when there is none."""
    return load_config(path)[0]


def load_config(path: str | os.PathLike | None = None) -> tuple[Settings, tuple[Source, ...]]:
    """Settings and sources (the settings file's inline [[source]] tables,
    then those of its ``sources`` file). ConfigError on any problem."""
    file = config_path(path)
    if file is None:
        return Settings(), ()
    data = _read_toml(file)
    inline = data.pop("source", [])
    fetch_table = data.pop("fetch", {})
    if not isinstance(fetch_table, dict):
        raise ConfigError(f"{file}: fetch: expected a [fetch] table")
    top = _checked(data, _TOP_CHECKS, "", file)
    fetch = _checked(fetch_table, _FETCH_CHECKS, "[fetch]", file)
    settings = _settings(top, fetch, file)
    sources = parse_sources(inline, file)
    if settings.sources:
        sources += load_sources(settings.sources)
    _check_unique(sources, file)
    return settings, sources


def _settings(top: dict, fetch: dict, file: Path) -> Settings:
    if "sources" in top:
        top["sources"] = str((file.parent / top["sources"]).resolve())
    if "ca_bundle" in fetch:
        fetch["ca_bundle"] = str((file.parent / fetch["ca_bundle"]).resolve())
    contact = top.get("contact", DEFAULT_CONTACT)
    fetch.setdefault("user_agent", default_user_agent(contact))
    return Settings(**top, fetch=FetchSettings(**fetch), path=str(file))


def load_sources(path: str | os.PathLike) -> tuple[Source, ...]:
    """Sources from a file holding only ``[[source]]`` tables."""
    file = Path(path)
    data = _read_toml(file)
    extra = sorted(set(data) - {"source"})
    if extra:
        raise ConfigError(f"{file}: {extra[0]}: unknown key (a sources file holds only "
                          f"[[source]] tables)")
    sources = parse_sources(data.get("source", []), file)
    _check_unique(sources, file)
    return sources


def parse_sources(tables: Any, file: Path) -> tuple[Source, ...]:
    """[[source]] tables, validated (``file`` names them in errors)."""
    if not isinstance(tables, list):
        raise ConfigError(f"{file}: source: expected [[source]] tables")
    return tuple(_source(t, i, file) for i, t in enumerate(tables, 1))


def _source(table: Any, number: int, file: Path) -> Source:
    where = f"[[source]] #{number}"
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: {where}: expected a table")
    if isinstance(table.get("name"), str):
        where += f' "{table["name"]}"'
    values = _checked(table, _SOURCE_CHECKS, where, file)
    for key in ("name", "kind"):
        if key not in values:
            raise ConfigError(f"{file}: {where}: missing key {key!r}")
    urls = _source_urls(values, where, file)
    if values.get("rules"):
        values["rules"] = _rules_path(values["rules"], where, file)
    return Source(urls=urls, **values)


def _source_urls(values: dict, where: str, file: Path) -> tuple[str, ...]:
    one, many = values.pop("url", None), values.pop("urls", None)
    if (one is None) == (many is None):
        raise ConfigError(f"{file}: {where}: give exactly one of 'url' or 'urls'")
    urls = (one,) if one is not None else many
    if not urls:
        raise ConfigError(f"{file}: {where}.urls: expected at least one URL")
    for i, url in enumerate(urls):
        try:
            _http_url(url)
        except ValueError as exc:
            raise ConfigError(f"{file}: {where}.urls[{i}]: {exc}, got {_show(url)}") from None
    return tuple(urls)


def _rules_path(value: str, where: str, file: Path) -> str:
    """The extra rules file, resolved against the config file and checked now
    (a bad rules file is a configuration error, not a failure per page)."""
    from .cleaner.notices import load_rules_file

    path = (file.parent / value).resolve()
    try:
        load_rules_file(path)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {where}.rules: {exc}") from None
    return str(path)


def _check_unique(sources: tuple[Source, ...], file: Path) -> None:
    seen: set[str] = set()
    for number, source in enumerate(sources, 1):
        if source.name in seen:
            raise ConfigError(f"{file}: [[source]] #{number} \"{source.name}\".name: "
                              f"duplicate source name")
        seen.add(source.name)


def source_fetch_settings(settings: FetchSettings, source: Source) -> FetchSettings:
    """The fetch settings of one source: its delay and concurrency overrides."""
    changes: dict[str, Any] = {}
    if source.delay is not None:
        changes.update(delay=source.delay, jitter=min(settings.jitter, source.delay))
    if source.concurrency is not None:
        changes["concurrency"] = source.concurrency
    return replace(settings, **changes) if changes else settings


__all__ = ["FetchSettings", "Settings", "Source", "SOURCE_KINDS", "load_config", "load_settings",
           "load_sources", "parse_sources", "config_path", "source_fetch_settings",
           "default_user_agent"]
