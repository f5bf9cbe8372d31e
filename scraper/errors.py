"""Errors raised by scraper. Every error the library raises is a ScraperError,
so callers (and the CLI) can catch one base class and print one line.

    ScraperError
    ├── ConfigError                 bad settings or sources file
    ├── AlreadyRunning              another `scraper run` holds the database's lock
    ├── FetchError                  anything that stops a page from being fetched
    │   ├── BlockedURL              address policy: private/loopback/... or bad scheme
    │   ├── RobotsDisallowed        robots.txt says no
    │   ├── RobotsUnavailable       robots.txt answered 5xx / timed out: try the host later
    │   ├── FetchTimeout            total deadline exceeded
    │   ├── TooLarge                body (raw or decoded) over the size cap
    │   ├── Truncated               body shorter than Content-Length, or cut by a reset
    │   ├── TooManyRedirects        more than the allowed redirect hops
    │   ├── BadStatus               final HTTP status not 2xx/304
    │   ├── RetryLater              Retry-After beyond the cap: given up for this run
    │   ├── NotHTML                 content is not an HTML/XHTML page
    │   ├── BadEncoding             corrupt or unsupported Content-Encoding
    │   └── ConnectError            DNS, refused, reset before a response
    ├── DiscoveryError              a feed or sitemap could not be read
    ├── CleanError                  the cleaner could not produce a record
    │   ├── NotHTMLContent          input is binary or not markup
    │   └── EmptyArticle            no article body found
    └── StoreError                  the SQLite store refused an operation
        └── ReadOnlyQuery           a write statement given to the read-only query
"""
from __future__ import annotations


class ScraperError(Exception):
    """Base class of every error raised by scraper."""


class ConfigError(ScraperError):
    """A settings or sources file is invalid."""


class AlreadyRunning(ScraperError):
    """Another run holds the lock of this database (not a failure: exit 0)."""


class FetchError(ScraperError):
    """A page could not be fetched. ``url`` names the page."""

    def __init__(self, message: str, url: str | None = None):
        super().__init__(message)
        self.url = url


class BlockedURL(FetchError):
    pass


class RobotsDisallowed(FetchError):
    pass


class RobotsUnavailable(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


class TooLarge(FetchError):
    pass


class Truncated(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class BadStatus(FetchError):
    def __init__(self, message: str, url: str | None = None, status: int | None = None):
        super().__init__(message, url)
        self.status = status


class RetryLater(FetchError):
    pass


class NotHTML(FetchError):
    pass


class BadEncoding(FetchError):
    pass


class ConnectError(FetchError):
    pass


class DiscoveryError(ScraperError):
    pass


class CleanError(ScraperError):
    pass


class NotHTMLContent(CleanError):
    pass


class EmptyArticle(CleanError):
    pass


class StoreError(ScraperError):
    pass


class ReadOnlyQuery(StoreError):
    pass
