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


def plural(lang: str, n: int) -> str:
    """The CLDR plural category of the whole number ``n`` in ``lang`` (what the browser's
    ``Intl.PluralRules`` gives the embed), for the few plural strings the server shows."""
    n = abs(n)
    ten, hundred = n % 10, n % 100
    if lang in ("ja", "zh", "zh-Hant", "ko", "th", "vi", "id"):
        return "other"
    if lang in ("ru", "uk"):
        if ten == 1 and hundred != 11:
            return "one"
        return "few" if 2 <= ten <= 4 and not 12 <= hundred <= 14 else "many"
    if lang == "pl":
        if n == 1:
            return "one"
        return "few" if 2 <= ten <= 4 and not 12 <= hundred <= 14 else "many"
    if lang in ("cs", "sk"):
        return "one" if n == 1 else "few" if 2 <= n <= 4 else "other"
    if lang == "ro":
        return "one" if n == 1 else "few" if n == 0 or 2 <= hundred <= 19 else "other"
    if lang == "ar":
        if n in (0, 1, 2):
            return ("zero", "one", "two")[n]
        return "few" if 3 <= hundred <= 10 else "many" if hundred >= 11 else "other"
    if lang == "he" and n == 2:
        return "two"
    if lang in ("fr", "pt", "fa", "hi", "bn") and n == 0:
        return "one"
    many = lang in ("fr", "es", "it", "pt", "ca") and n and n % 1_000_000 == 0
    return "one" if n == 1 else "many" if many else "other"


def translator(lang: str) -> Callable[..., str]:
    """``t(key, default=None, **values)``: the string ``key`` in ``lang`` (else English, else
    ``default``, else the key) with its ``{placeholders}`` filled from ``values``. A plural
    string gives the form of ``n`` (``plural``), else its ``other`` form."""
    lang = language(lang)
    table = words(lang)

    def t(key: str, default: str | None = None, **values: object) -> str:
        found = table.get(key)
        if isinstance(found, dict):
            count = values.get("n")
            form = plural(lang, count) if isinstance(count, int) else "other"
            found = found.get(form) or found.get("other")
        text = found if isinstance(found, str) and found else default or key
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    return t
