"""The notice rules are data: every bundled rule loads, has a unique id, and
matches the examples it documents; bad rule files are refused clearly."""
from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from scraper.cleaner.notices import builtin_rules, load_rules_file, parse_rules, word_count
from scraper.errors import ConfigError

RULE_FILES = sorted(e.name for e in (resources.files("scraper.cleaner") / "rules").iterdir()
                    if e.name.endswith(".toml"))


def _raw_rules():
    for name in RULE_FILES:
        data = tomllib.loads((resources.files("scraper.cleaner") / "rules" / name).read_text(encoding="utf-8"))
        for raw in data["rule"]:
            yield name, raw


def test_language_files_present():
    assert {"fr.toml", "en.toml", "es.toml", "common.toml"} <= set(RULE_FILES)


def test_ids_unique_and_prefixed():
    ids = [r.id for r in builtin_rules().rules]
    assert len(ids) == len(set(ids))
    for name, raw in _raw_rules():
        assert raw["id"].startswith(name.removesuffix(".toml") + "."), raw["id"]


@pytest.mark.parametrize("name,raw", [(n, r) for n, r in _raw_rules() if r.get("examples")],
                         ids=lambda x: x["id"] if isinstance(x, dict) else x)
def test_rule_matches_its_examples(name, raw):
    rule = next(r for r in builtin_rules().rules if r.id == raw["id"])
    for example in raw["examples"]:
        assert rule.regex.search(example), example
        assert word_count(example) <= rule.max_words, example


@pytest.mark.parametrize("prose", [
    "The company attached a disclaimer to the report, but regulators said it changed nothing about liability.",
    "Copyright law in France protects the work of translators as well as that of the original authors.",
    "The source of the leak, according to two officials, was a contractor in the ministry's finance office.",
    "Subscribers to the service saw their bills double last winter while the company posted record profits.",
    "La source de la fuite serait un prestataire du ministère, selon deux responsables interrogés.",
    "Avis de tempête sur les marchés : les investisseurs ont vendu massivement leurs obligations vendredi.",
    "La fuente de la filtración fue un contratista del ministerio, según dos funcionarios consultados.",
])
def test_body_prose_mentioning_notice_words_is_not_a_notice(prose):
    for rule in builtin_rules().rules:
        hit = rule.regex.search(prose) and rule.min_words <= word_count(prose) <= rule.max_words
        assert not (hit and rule.where == "any"), f"{rule.id} matches body prose"


def test_bad_rule_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text('[[rule]]\nid = "x.one"\nkind = "copyright"\npattern = "(unclosed"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site.toml.*x.one.*bad pattern"):
        load_rules_file(path)


def test_unknown_key_and_missing_field_refused():
    with pytest.raises(ConfigError, match="unknown key"):
        parse_rules({"rule": [{"id": "a", "kind": "b", "pattern": "c", "colour": "red"}]}, "t")
    with pytest.raises(ConfigError, match="'pattern' is required"):
        parse_rules({"rule": [{"id": "a", "kind": "b"}]}, "t")
    with pytest.raises(ConfigError, match="duplicate rule id"):
        parse_rules({"rule": [{"id": "a", "kind": "b", "pattern": "c"}] * 2}, "t")
