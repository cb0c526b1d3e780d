"""Every language is whole: one embed file and one server file per language commentd lists, each
with every English key, the same {placeholders}, plural forms that all show the count, and the
config names a site owner must type left untranslated. The browser half (Chromium's own plural
categories for each language, digits as the page shows them) is in
tests/browser/test_plural_categories.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from commentd.services.i18n import ALIASES, EMBED_DIR, LANGUAGES, PACKAGE, SERVER_DIR, translator

PLACEHOLDER = re.compile(r"\{(\w+)\}")
CLDR_CATEGORIES = {"zero", "one", "two", "few", "many", "other"}
DIRECTORIES = {"embed": EMBED_DIR, "server": SERVER_DIR}


def load(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("kind", sorted(DIRECTORIES))
def test_each_listed_language_has_a_file_and_no_file_is_unlisted(kind):
    files = {path.stem for path in DIRECTORIES[kind].glob("*.json")}
    assert files == set(LANGUAGES), sorted(files ^ set(LANGUAGES))


def test_the_embed_offers_the_languages_the_server_lists():
    embed = (PACKAGE / "static" / "js" / "embed.js").read_text(encoding="utf-8")
    listed = re.search(r'const LANGS = "([^"]+)"\.split\(" "\)', embed)
    assert listed, "embed.js no longer lists its languages the way this test reads them"
    assert listed[1].split(" ") == list(LANGUAGES)


def test_count_js_picks_from_the_same_languages_and_aliases():
    count = (PACKAGE / "static" / "js" / "count.js").read_text(encoding="utf-8")
    listed = re.search(r'!"([a-z ]+)"\.split\(" "\)\.includes\(lang\)', count)
    assert listed, "count.js no longer lists its languages the way this test reads them"
    # English is its fallback and traditional Chinese is picked by its own rule.
    assert set(listed[1].split(" ")) == set(LANGUAGES) - {"en", "zh-Hant"}
    aliases = re.search(r"let lang = \{([^}]*)\}\[l\]", count)
    assert aliases, "count.js no longer lists its aliases the way this test reads them"
    assert dict(re.findall(r'(\w+): "([\w-]+)"', aliases[1])) == ALIASES


@pytest.mark.parametrize("kind", sorted(DIRECTORIES))
@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_a_translation_has_every_key_with_the_same_placeholders(kind, lang):
    english = load(DIRECTORIES[kind] / "en.json")
    words = load(DIRECTORIES[kind] / f"{lang}.json")
    assert list(words) == list(english), sorted(set(words) ^ set(english))
    for key, source in english.items():
        value = words[key]
        if isinstance(source, dict):
            assert isinstance(value, dict), (key, value)
            assert "other" in value, (key, sorted(value))
            assert set(value) <= CLDR_CATEGORIES, (key, sorted(value))
            for form, text in value.items():
                assert "{n}" in text, (key, form, text)
                assert placeholders(text) == placeholders(source["other"]), (key, form, text)
        else:
            assert isinstance(value, str), (key, value)
            assert value.strip(), (key, value)
            assert placeholders(value) == placeholders(source), (key, value)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_config_names_in_the_origin_note_are_left_as_typed(lang):
    note = load(EMBED_DIR / f"{lang}.json")["origin_blocked"]
    for name in ("allowed_origins", "[server]", "commentd.ini"):
        assert name in note, (lang, name, note)


@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_the_server_speaks_each_language_in_mails_and_feeds(lang):
    english, t = translator("en"), translator(lang)
    values = {"author": "Rob", "where": "/post/", "title": "Post", "site": "blog", "url": "u"}
    for key in load(SERVER_DIR / "en.json"):
        assert t(key, **values) != english(key, **values), (lang, key)
        assert "{" not in t(key, **values), (lang, key)
