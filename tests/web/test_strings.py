"""The server-rendered pages speak the embed's words: the same English, the same translations."""

from __future__ import annotations

import json
import re

import pytest

from commentd.web.strings import ENGLISH, I18N_DIR, LANGUAGES, language, translator
from tests.browser.conftest import REPO

EMBED = (REPO / "commentd" / "static" / "js" / "embed.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(ENGLISH))
def test_english_is_the_embeds(key):
    found = re.search(rf"\b{key}: \"([^\"]*)\"", EMBED)
    assert found, f"{key} is not in embed.js's English strings"
    assert found[1] == ENGLISH[key]


def test_every_language_of_the_embed_has_its_file():
    assert sorted(path.stem for path in I18N_DIR.glob("*.json")) == sorted(set(LANGUAGES) - {"en"})
    assert re.search(r'const LANGS = "([^"]+)"', EMBED)[1].split() == list(LANGUAGES)


def test_translations_are_used_and_fall_back_to_english():
    de = json.loads((I18N_DIR / "de.json").read_text(encoding="utf-8"))
    t = translator("de")
    assert t("submit") == de["submit"]
    assert t("no such key", "given default") == "given default"
    assert translator("en")("submit") == "Post comment"
    assert (language("pt-BR"), language("ZH_hant"), language("klingon"), language(None)) == (
        "pt",
        "zh",
        "en",
        "en",
    )
