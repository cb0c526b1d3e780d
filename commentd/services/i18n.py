"""The reader-facing words, in every language the embed speaks.

Two sets of translation files, one per language each:

- the embed's, ``commentd/static/js/i18n/<lang>.json``: downloaded by the browser (one file, the
  page's language), and read here too so that the server-rendered thread says the same;
- the server's own, ``commentd/locales/<lang>.json``: the words of mails and feeds, which the
  embed never needs, so they cost it nothing on the wire.

English (``en.json`` in both) is the reference: every other file has every key, with the same
``{placeholders}`` (tests/test_translations.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
EMBED_DIR = PACKAGE / "static" / "js" / "i18n"
SERVER_DIR = PACKAGE / "locales"
LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "zh", "pl",
    "ar", "he", "fa", "ko", "tr", "uk", "cs", "sv", "da", "fi", "nb", "el", "hu", "ro", "id",
    "vi", "th", "hi", "bn", "ca", "sk", "bg", "zh-Hant",
)  # fmt: skip
RIGHT_TO_LEFT = frozenset({"ar", "he", "fa"})
# Codes browsers still send for a language we have under another name.
ALIASES = {"iw": "he", "no": "nb", "nn": "nb", "in": "id"}
TRADITIONAL_CHINESE = frozenset({"hant", "tw", "hk", "mo"})


def language(value: str | None) -> str:
    """The supported language ``value`` names, else English: ``de-AT`` is ``de``, ``zh-TW`` and
    ``zh-Hant-HK`` are ``zh-Hant``; the first of a list (``Accept-Language``) counts."""
    tag = (value or "").split(",")[0].split(";")[0].strip().lower().replace("_", "-")
    primary, *rest = tag.split("-")
    if primary == "zh" and TRADITIONAL_CHINESE.intersection(rest):
        return "zh-Hant"
    primary = ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES and primary != "zh-Hant" else "en"


def direction(lang: str) -> str:
    """``rtl`` for a right-to-left language, else ``ltr``."""
    return "rtl" if language(lang) in RIGHT_TO_LEFT else "ltr"


def _read(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def words(lang: str) -> dict[str, object]:
    """Every string of ``lang`` (the embed's and the server's), English filling any gap."""
    english = {**_read(EMBED_DIR / "en.json"), **_read(SERVER_DIR / "en.json")}
    if lang == "en":
        return english
    return {**english, **_read(EMBED_DIR / f"{lang}.json"), **_read(SERVER_DIR / f"{lang}.json")}


def translator(lang: str) -> Callable[..., str]:
    """``t(key, default=None, **values)``: the string ``key`` in ``lang`` (else English, else
    ``default``, else the key) with its ``{placeholders}`` filled from ``values``. A plural
    string gives its ``other`` form: the server only counts in figures."""
    table = words(language(lang))

    def t(key: str, default: str | None = None, **values: object) -> str:
        found = table.get(key)
        if isinstance(found, dict):
            found = found.get("other")
        text = found if isinstance(found, str) and found else default or key
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    return t
