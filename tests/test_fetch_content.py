"""Content checks through the real fetcher: charsets, binary sniffing, types."""
from __future__ import annotations

import codecs

import pytest

from badserver import fetch_sync, html, send
from scraper.bodies import decode_html, meta_charset, sniff_binary
from scraper.errors import NotHTML

FRENCH = ("Le gouvernement a annoncé une réforme des retraites très contestée. "
          "Les syndicats préparent déjà une journée de grève générale à la fin du mois, "
          "et l'opposition dénonce un passage en force. Élèves, employés, retraités : "
          "personne n'a été consulté, déplorent-ils. ")


def page(body: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>Réforme</title></head><body><p>{body}</p></body></html>"


def test_header_charset_wins_over_contradicting_meta(server):
    doc = page(FRENCH, '<meta charset="iso-8859-1">').encode("utf-8")
    server.route("/h", html(doc, "text/html; charset=utf-8"))
    result = fetch_sync(server.url("/h"))
    assert result.encoding == "utf-8"
    assert "annoncé une réforme" in result.html


def test_meta_used_when_header_charset_is_wrong(server):
    # The header claims UTF-8 but the bytes are windows-1252, as the meta tag says.
    doc = page(FRENCH + "“quotes”", '<meta http-equiv="Content-Type" '
               'content="text/html; charset=windows-1252">').encode("cp1252")
    server.route("/w", html(doc, "text/html; charset=utf-8"))
    result = fetch_sync(server.url("/w"))
    assert result.encoding == "cp1252"
    assert "annoncé une réforme" in result.html and "“quotes”" in result.html


def test_latin1_without_any_charset(server):
    doc = page(FRENCH * 3).encode("latin-1")
    server.route("/l", html(doc, "text/html"))
    result = fetch_sync(server.url("/l"))
    assert "annoncé une réforme" in result.html and "Élèves" in result.html
    assert "\ufffd" not in result.html


def test_utf16_with_bom(server):
    doc = codecs.BOM_UTF16_LE + page(FRENCH).encode("utf-16-le")
    server.route("/u", html(doc, "text/html"))
    result = fetch_sync(server.url("/u"))
    assert result.encoding == "utf-16"
    assert result.html.startswith("<html>") and "annoncé" in result.html


def test_unknown_charset_never_crashes(server):
    doc = page(FRENCH).encode("utf-8")
    server.route("/x", html(doc, "text/html; charset=x-klingon"))
    server.route("/b", html(b"<html><p>caf\xe9 \xff\xfe\x81 na\xefve</p>" + b"x" * 20,
                            "text/html; charset=base64"))
    assert "annoncé" in fetch_sync(server.url("/x")).html
    assert "caf" in fetch_sync(server.url("/b")).html


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.mark.parametrize("body,name", [(PNG, "PNG"), (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
                                       (b"\x00\x01\x02\x03binary\x00\x00", "binary")])
def test_binary_served_as_html_refused(server, body, name):
    server.route("/img", html(body, "text/html"))
    result = fetch_sync(server.url("/img"))
    assert isinstance(result, NotHTML) and name in str(result)


def test_non_html_content_type_refused_before_body(server):
    server.route("/j", lambda c, r: send(c, 200, {"Content-Type": "application/json"}, b"{}"))
    result = fetch_sync(server.url("/j"))
    assert isinstance(result, NotHTML) and "application/json" in str(result)


def test_xhtml_accepted(server):
    server.route("/x", html(page("ok"), "application/xhtml+xml; charset=utf-8"))
    assert "ok" in fetch_sync(server.url("/x")).html


def test_decode_html_units():
    assert decode_html(b"\xef\xbb\xbf<p>\xc3\xa9</p>")[0] == "<p>é</p>"
    assert decode_html("<p>é</p>".encode("utf-8"), "text/html")[1] == "utf-8"
    assert meta_charset(b'<meta charset="utf-16">') == "utf-8"  # ASCII meta cannot be UTF-16
    assert meta_charset(b'<meta charset="nonsense-xyz">') is None
    assert sniff_binary(codecs.BOM_UTF16_LE + "<p>".encode("utf-16-le")) is None
