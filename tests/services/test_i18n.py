"""Choosing a language and reading its words: the server speaks the embed's languages."""

from __future__ import annotations

import json

import pytest

from commentd.services.i18n import EMBED_DIR, SERVER_DIR, direction, language, translator


@pytest.mark.parametrize(
    ("asked", "chosen"),
    [
        ("pt-BR", "pt"),
        ("de_AT", "de"),
        ("ZH_hans", "zh"),
        ("zh", "zh"),
        ("zh-TW", "zh-Hant"),
        ("zh-Hant-HK", "zh-Hant"),
        ("iw", "he"),
        ("no", "nb"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("klingon", "en"),
        ("zh-hant-but-not-a-code-we-split", "zh-Hant"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_is_one_we_have(asked, chosen):
    assert language(asked) == chosen


def test_right_to_left_languages():
    assert [direction(lang) for lang in ("ar", "he-IL", "fa", "en", "de")] == [
        "rtl",
        "rtl",
        "rtl",
        "ltr",
        "ltr",
    ]


def test_translations_are_used_and_fall_back_to_english():
    de = json.loads((EMBED_DIR / "de.json").read_text(encoding="utf-8"))
    t = translator("de")
    assert t("submit") == de["submit"]
    assert t("no such key", "given default") == "given default"
    assert translator("en")("submit") == "Post comment"
    english = json.loads((SERVER_DIR / "en.json").read_text(encoding="utf-8"))
    assert translator("en")("feed_thread_title", title="Hello") == english[
        "feed_thread_title"
    ].replace("{title}", "Hello")
    assert translator("en")("comments") == "{n} comments"


def test_the_embed_and_the_server_agree_on_right_to_left_and_on_aliases():
    import re

    from commentd.services.i18n import ALIASES, PACKAGE, RIGHT_TO_LEFT

    embed = (PACKAGE / "static" / "js" / "embed.js").read_text(encoding="utf-8")
    rtl = re.search(r'dir: /\^\(([a-z|]+)\)\$/\.test\(lang\) \? "rtl"', embed)
    assert rtl, "embed.js no longer picks rtl the way this test reads it"
    assert set(rtl[1].split("|")) == RIGHT_TO_LEFT
    aliases = re.search(r"const ALIAS_LANG = \{([^}]*)\}", embed)[1]
    assert dict(re.findall(r'(\w+): "([\w-]+)"', aliases)) == ALIASES
