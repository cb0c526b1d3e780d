"""Each plural string has a form for every plural category Chromium's Intl.PluralRules knows for
its language, and no form it never picks: a missing form would show the ``other`` form where a
reader expects, say, the Arabic dual; a form Chromium never picks is a translation nobody reads."""

from __future__ import annotations

import pytest

from commentd.services.i18n import LANGUAGES
from tests.browser.conftest import strings

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")


def test_plural_forms_are_the_categories_chromium_picks_from(page):
    page.set_content("<!doctype html><title>plural rules</title>")
    categories = page.evaluate(
        """langs => Object.fromEntries(langs.map(lang =>
             [lang, new Intl.PluralRules(lang).resolvedOptions().pluralCategories]))""",
        list(LANGUAGES),
    )
    wrong = {}
    for lang in LANGUAGES:
        for key, forms in strings(lang).items():
            if isinstance(forms, dict) and set(forms) != set(categories[lang]):
                wrong[f"{lang} {key}"] = (sorted(forms), sorted(categories[lang]))
    assert not wrong, wrong
