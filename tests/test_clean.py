"""scraper.clean on small hand-written pages: notices dropped by shape,
joins, metadata, original source, determinism, decoding."""
from __future__ import annotations

from scraper import clean
from scraper.cleaner.dates import parse_text_date
from scraper.cleaner.metadata import clean_author_names, strip_site
from scraper.cleaner.paragraphs import is_cut
from scraper.textkeys import paragraph_key

LONG = ("The ministry published the figures on Tuesday, and officials in three provinces said the numbers "
        "matched what clinics had reported since the spring, when the first shortages appeared.")


def page(body: str, head: str = "", lang: str = "en", title: str = "A Test Story | Example News") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:site_name" content="Example News">{head}</head><body>'
            f'<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>'
            f'<article><h1>A Test Story</h1><div class="entry-content">{body}</div></article>'
            f'<footer><p>About us</p></footer></body></html>')


def paras(*texts: str) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def test_notices_dropped_with_rule_ids_and_source_found():
    html = page(paras(LONG, LONG.replace("Tuesday", "Monday"), LONG.replace("spring", "winter"),
                      'This article was originally published by <a href="https://other.example/story/1">'
                      'The Other Paper</a>.',
                      "Disclaimer: The views expressed are the author's own.",
                      "Copyright © Jane Doe, The Other Paper, 2021"))
    a = clean(html, "https://example.com/news/1")
    assert "originally published" not in a.text and "Disclaimer" not in a.text and "©" not in a.text
    rules = [r.rule for r in a.removed]
    assert "en.attribution.originally_published" in rules
    assert a.original_source == "The Other Paper"
    assert a.original_url == "https://other.example/story/1"
    assert a.text.count("\n\n") == 2


def test_prose_mentioning_notice_words_stays():
    prose = ("The regulator said the disclaimer in the contract, which cites copyright law as its source, "
             "could not protect the company from claims by subscribers who lost money last year.")
    html = page(paras(LONG, prose, LONG.replace("Tuesday", "Friday")))
    a = clean(html, "https://example.com/news/2")
    assert prose in a.text
    assert a.original_source is None


def test_site_naming_itself_is_its_own_original():
    html = page(paras(LONG, LONG, LONG, "The original source of this article is Example News"))
    a = clean(html, "https://example.com/news/3")
    assert a.original_source is None and a.original_url is None
    assert "original source" not in a.text


def test_cut_paragraphs_joined_in_french_and_spanish():
    fr = page(paras(LONG, "Les négociations ont échoué parce que les alliés de Washington ont refusé de",
                    "participer aux discussions, selon plusieurs diplomates présents à Genève.", LONG), lang="fr")
    a = clean(fr, "https://example.com/fr/1")
    assert "refusé de participer aux discussions" in a.text
    es = page(paras(LONG, "El gobierno anunció que las medidas entrarían en vigor a partir del",
                    "próximo lunes, aunque los sindicatos ya convocaron una huelga.", LONG), lang="es")
    assert "a partir del próximo lunes" in clean(es, "https://example.com/es/1").text


def test_is_cut_needs_open_end_and_lower_case_start():
    assert is_cut("armed by Saudi Arabia and Turkey. Complicating the", "picture is that some")
    assert not is_cut("It ended there.", "then it began again")
    assert not is_cut("A sentence without a stop", "But a capital next")
    assert not is_cut("Here is the list:", "the first item")


def test_byline_dates_in_three_languages():
    assert parse_text_date("Mondialisation.ca, 10 février 2016") == "2016-02-10"
    assert parse_text_date("Par Jeanne Martin, le 1er mars 2021") == "2021-03-01"
    assert parse_text_date("Por Ana López, 3 de marzo de 2021") == "2021-03-03"
    assert parse_text_date("By Dana Whitaker | June 12, 2023") == "2023-06-12"
    assert parse_text_date("no date here 2021") is None


def test_date_only_in_a_french_byline():
    html = page(paras(LONG, LONG, LONG), lang="fr").replace(
        "<h1>A Test Story</h1>", "<h1>A Test Story</h1><div>Par <a href='/a/jm'>Jeanne Martin</a>, le 3 mars 2021</div>")
    a = clean(html, "https://example.com/fr/2")
    assert a.published == "2021-03-03"
    assert a.authors == ("Jeanne Martin",)


def test_author_names_cleaned():
    assert clean_author_names(["Par : Jeanne Martin et Paul Durand"], set()) == ["Jeanne Martin", "Paul Durand"]
    assert clean_author_names(["By Ann Lee", "ann lee", "Bob Roe"], set()) == ["Ann Lee", "Bob Roe"]
    assert clean_author_names(["Por Ana López y Carlos Pérez"], set()) == ["Ana López", "Carlos Pérez"]
    assert clean_author_names(["Example News"], {"examplenews"}) == []


def test_title_suffix_and_prefix_dropped():
    assert strip_site("Putin's Gamble | Mondialisation.ca", "Mondialisation.ca", "mondialisation.ca", []) == "Putin's Gamble"
    assert strip_site("El Salto - Las temporeras - El Salto - Edición General", "El Salto", "elsaltodiario.com",
                      ["Las temporeras"]) == "Las temporeras"
    assert strip_site("Syrie : la guerre", "Example", "example.com", []) == "Syrie : la guerre"


def test_languages_body_versus_page():
    a = clean(page(paras(LONG, LONG, LONG), lang="fr-FR"), "https://example.com/x")
    assert (a.language, a.page_language) == ("en", "fr")


def test_deterministic():
    html = page(paras(LONG, "Short one.", LONG.replace("spring", "autumn"), "Source: Reuters"))
    first = clean(html, "https://example.com/d").to_dict()
    for _ in range(3):
        assert clean(html, "https://example.com/d").to_dict() == first


def test_bytes_decoded_by_meta_charset():
    html = page(paras(LONG, "Le café coûte plus cher à Genève et à Zürich cette année, disent les économistes."
                      + " " + LONG)).replace('charset="utf-8"', 'charset="iso-8859-1"')
    a = clean(html.encode("latin-1"), "https://example.com/l")
    assert "café coûte" in a.text


def test_template_keys_drop_site_furniture():
    footer = "Example News is a member of the Independent Press Alliance since 2009 and proud of it."
    html = page(paras(LONG, LONG.replace("Tuesday", "Monday"), footer, LONG.replace("spring", "fall")))
    assert footer in clean(html, "https://example.com/t").text
    a = clean(html, "https://example.com/t", template_keys={paragraph_key(footer)})
    assert footer not in a.text
    assert any(r.rule == "template" and r.text == footer for r in a.removed)


def test_url_falls_back_to_canonical():
    html = page(paras(LONG, LONG), head='<link rel="canonical" href="https://example.com/canon/7">')
    a = clean(html)
    assert a.url == "https://example.com/canon/7" and a.domain == "example.com"
    assert a.original_source is None


def test_canonical_to_another_domain_is_evidence_of_origin():
    html = page(paras(LONG, LONG, LONG), head='<link rel="canonical" href="https://www.other-outlet.org/a/1">')
    a = clean(html, "https://example.com/repost/1")
    assert a.original_source == "other-outlet.org"
    assert a.original_url == "https://www.other-outlet.org/a/1"
