"""Plain typed records passed between stages. Dataclasses only, no I/O."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The record fields, in output order (JSON keys = SQLite columns).
ARTICLE_FIELDS = (
    "url", "final_url", "canonical_url", "site", "domain", "title", "authors",
    "published", "language", "page_language", "original_source", "original_url",
    "text", "removed", "word_count", "content_hash", "fetched_at",
)


class HTTPResult:
    """What fetched records share: ``status`` and ``headers`` ((name, value) pairs)."""
    status: int
    headers: tuple[tuple[str, str], ...]

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304

    def header(self, name: str) -> str | None:
        """The first value of a response header (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True)
class Removed:
    """A block the cleaner dropped after extraction, and the id of the rule that dropped it."""
    text: str
    rule: str


@dataclass(frozen=True)
class Article:
    """A cleaned article: the record stored and printed."""
    url: str | None
    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    language: str | None = None
    page_language: str | None = None
    site: str | None = None
    domain: str | None = None
    final_url: str | None = None
    canonical_url: str | None = None
    original_source: str | None = None
    original_url: str | None = None
    removed: tuple[Removed, ...] = ()
    word_count: int = 0
    content_hash: str = ""
    fetched_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict, keys in ARTICLE_FIELDS order."""
        d = asdict(self)
        d["authors"] = list(self.authors)
        d["removed"] = [{"text": r.text, "rule": r.rule} for r in self.removed]
        return {k: d[k] for k in ARTICLE_FIELDS}


@dataclass(frozen=True)
class Page(HTTPResult):
    """A fetched page: what the fetcher hands to the cleaner."""
    url: str                      # as requested
    final_url: str                # after redirects
    status: int                   # 200, or 304 (not modified: html is "")
    headers: tuple[tuple[str, str], ...]
    html: str                     # decoded HTML ("" for a 304)
    fetched_at: str               # ISO 8601 UTC
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None
    bytes: int = 0
    elapsed: float = 0.0
    redirects: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class FetchRow:
    """One fetch attempt as the store records it (table ``fetches``).
    ``outcome``: "new" / "updated" / "unchanged" (filled in by Store.save
    when left None), "not_modified" (a 304), "error", or another short word."""
    url: str
    fetched_at: str
    status: int | None = None
    outcome: str | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    bytes: int = 0
    elapsed: float = 0.0

    @classmethod
    def from_page(cls, page: "Page", outcome: str | None = None) -> "FetchRow":
        """The fetch row of a fetched page (304s get outcome "not_modified")."""
        if outcome is None and page.not_modified:
            outcome = "not_modified"
        return cls(url=page.url, fetched_at=page.fetched_at, status=page.status, outcome=outcome,
                   etag=page.etag, last_modified=page.last_modified, bytes=page.bytes,
                   elapsed=page.elapsed)
