"""Address policy (no network beyond loopback name resolution) and URL normalisation."""
from __future__ import annotations

import asyncio
import ipaddress

import pytest

from scraper.errors import BlockedURL
from scraper.netpolicy import AddressPolicy, blocked_reason, split_target
from scraper.urls import domain_of, normalize_url


@pytest.mark.parametrize("addr,reason", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.10", "private"),
    ("172.16.5.4", "private"), ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"), ("240.0.0.1", "private"), ("100.64.0.1", "non-public"),
    ("::1", "loopback"), ("fe80::1", "link-local"), ("fc00::1", "private"), ("::", "unspecified"),
    ("ff02::1", "multicast"), ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),
    ("2002:7f00:1::", "loopback"),
])
def test_non_public_addresses_blocked(addr, reason):
    assert blocked_reason(ipaddress.ip_address(addr)) == reason


@pytest.mark.parametrize("addr", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_pass(addr):
    assert blocked_reason(ipaddress.ip_address(addr)) is None


def check(url, **kw):
    async def go():
        await AddressPolicy(**kw).check(url)
    asyncio.run(go())


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.0.0.1/x", "http://[::1]:8080/",
                                 "http://169.254.169.254/latest", "http://localhost/",
                                 "http://0.0.0.0/", "https://[fe80::1]/"])
def test_policy_refuses_private_targets(url):
    with pytest.raises(BlockedURL):
        check(url)


def test_policy_allows_when_configured():
    check("http://127.0.0.1/", allow_private=True)
    check("http://localhost/", allow_private=True)
    check("http://127.0.0.1:8000/", allowed_networks=["127.0.0.0/8"])
    with pytest.raises(BlockedURL):
        check("http://10.0.0.1/", allowed_networks=["127.0.0.0/8"])


@pytest.mark.parametrize("url", ["ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)",
                                 "gopher://x/", "http:///nohost", "http://example.org:99999/"])
def test_bad_schemes_and_urls_refused_even_when_private_allowed(url):
    with pytest.raises(BlockedURL):
        check(url, allow_private=True)


def test_split_target_default_ports():
    assert split_target("https://Example.ORG/x") == ("https", "example.org", 443)
    assert split_target("http://example.org:8080/") == ("http", "example.org", 8080)


@pytest.mark.parametrize("raw,expected", [
    ("HTTP://Example.COM:80/a?utm_source=x&id=3#frag", "http://example.com/a?id=3"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/p?fbclid=1&gclid=2", "https://example.com:8443/p"),
    ("https://example.com/p?b=2&a=1", "https://example.com/p?b=2&a=1"),
    ("https://www.example.com./x", "https://www.example.com/x"),
])
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_domain_of():
    assert domain_of("https://www.Example.com/x") == "example.com"
    assert domain_of(None) is None


def test_connection_pinned_to_checked_address(server, monkeypatch):
    """DNS rebinding: the name is resolved once, checked, and the connection goes
    to that very address; a second (rebound) answer is never used."""
    from badserver import fast_settings, fetch_sync, html
    from scraper import netpolicy

    answers = [(ipaddress.ip_address("127.0.0.1"),), (ipaddress.ip_address("10.0.0.1"),)]
    calls = []

    async def fake_resolve(host, port, url):
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]
    monkeypatch.setattr(netpolicy, "resolve", fake_resolve)
    server.route("/", html("<p>pinned</p>"))
    strict = fast_settings(allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    page = fetch_sync(f"http://rebind.test:{server.port}/", strict)
    assert "pinned" in page.html
    assert calls == ["rebind.test"]
    assert server.log[0].headers["host"] == f"rebind.test:{server.port}"
