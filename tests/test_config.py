"""Settings and sources: defaults, strict validation, one-line errors (exit 2)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper.cli import cli
from scraper.config import FetchSettings, Settings, load_config, load_sources
from scraper.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
GOOD_SOURCE = '[[source]]\nname = "gr"\nkind = "feed"\nurl = "https://www.globalresearch.ca/feed"\n'


def write(tmp_path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_bundled_config_files_load():
    settings, sources = load_config(ROOT / "config" / "scraper.toml")
    assert settings.db == "scraper.db" and settings.fetch.delay == 1.0
    assert settings.contact in settings.fetch.user_agent
    example = load_sources(ROOT / "config" / "sources.example.toml")
    assert {s.kind for s in example} == {"feed", "sitemap", "homepage", "urls"}
    with_rules = next(s for s in example if s.rules)
    assert Path(with_rules.rules).is_file()


def test_no_file_gives_the_named_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCRAPER_CONFIG", raising=False)
    assert load_config(None) == (Settings(), ())
    assert Settings().fetch == FetchSettings()


def test_env_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, 'db = "x.db"\n' + GOOD_SOURCE)
    monkeypatch.setenv("SCRAPER_CONFIG", str(path))
    settings, sources = load_config(None)
    assert settings.db == "x.db" and sources[0].urls == ("https://www.globalresearch.ca/feed",)


def test_sources_file_and_inline_sources(tmp_path):
    write(tmp_path, GOOD_SOURCE.replace('"gr"', '"other"') + '\ndelay = 2.5\nlanguage = "FR"\n',
          "sources.toml")
    settings, sources = load_config(write(tmp_path, 'sources = "sources.toml"\n' + GOOD_SOURCE))
    assert [s.name for s in sources] == ["gr", "other"]
    assert sources[1].delay == 2.5 and sources[1].language == "fr"


@pytest.mark.parametrize("text, expected", [
    ('colour = "blue"\n', 'colour: unknown key'),
    ('[fetch]\ndelay = "fast"\n', '[fetch].delay: expected a number >= 0.0, got "fast"'),
    ('[fetch]\ntimeout = 0\n', '[fetch].timeout: expected a number > 0'),
    ('[fetch]\nobey_robots = "yes"\n', '[fetch].obey_robots: expected true or false'),
    ('contact = "me@example.org"\n', 'contact: expected an http(s) URL'),
    (GOOD_SOURCE + GOOD_SOURCE.replace('"gr"', '"b"') + 'delay = -1\n',
     '[[source]] #2 "b".delay: expected a number >= 0.0, got -1'),
    (GOOD_SOURCE + 'colour = 1\n', '[[source]] #1 "gr".colour: unknown key'),
    (GOOD_SOURCE.replace('"feed"', '"rss"'), '.kind: expected one of feed, sitemap, urls, homepage'),
    (GOOD_SOURCE.replace('url =', 'urls = ["ftp://x"]\n#'), '.urls[0]: expected an http(s) URL'),
    (GOOD_SOURCE + 'urls = ["https://a.example/"]\n', "give exactly one of 'url' or 'urls'"),
    ('[[source]]\nkind = "feed"\nurl = "https://a.example/"\n', "[[source]] #1: missing key 'name'"),
    (GOOD_SOURCE * 2, '[[source]] #2 "gr".name: duplicate source name'),
    (GOOD_SOURCE + 'rules = "missing.toml"\n', '.rules: '),
    ('sources = "nowhere.toml"\n', 'nowhere.toml: file not found'),
    ('db = "x.db"\n[fetch\n', 'invalid TOML'),
])
def test_bad_settings_name_file_key_and_expectation(tmp_path, text, expected):
    path = write(tmp_path, text)
    message = error_of(path)
    assert expected in message
    assert "\n" not in message
    if "nowhere" not in expected:
        assert message.startswith(str(path))


def test_bad_toml_names_the_line(tmp_path):
    message = error_of(write(tmp_path, 'db = "x.db"\n\n[fetch]\ndelay 1\n'))
    assert "line 4" in message


def test_bad_rules_file_is_a_config_error(tmp_path):
    write(tmp_path, '[[rule]]\nid = "x"\nkind = "bio"\npattern = "("\n', "rules.toml")
    message = error_of(write(tmp_path, GOOD_SOURCE + 'rules = "rules.toml"\n'))
    assert '"gr".rules' in message and "bad pattern" in message


@pytest.mark.parametrize("text, key", [
    ('colour = "blue"\n', "colour"),
    ('[fetch]\ndelay = "fast"\n', "[fetch].delay"),
    ('[fetch\n', "line 1"),
])
def test_run_with_bad_config_exits_2_with_one_line(tmp_path, text, key):
    path = write(tmp_path, text)
    res = CliRunner().invoke(cli, ["run", "--config", str(path)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and key in lines[0]


def test_run_bad_config_subprocess_no_traceback(tmp_path):
    path = write(tmp_path, GOOD_SOURCE + "delay = -2\n")
    proc = subprocess.run([sys.executable, "-m", "scraper", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and '"gr".delay' in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_without_sources_is_a_config_error(tmp_path):
    res = CliRunner().invoke(cli, ["run", "--config", str(write(tmp_path, 'db = "x.db"\n'))])
    assert res.exit_code == 2 and "no sources configured" in res.output
