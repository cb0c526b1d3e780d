"""What the embed costs a reader, from Chromium's own network log: every byte the embed needs
(JS, CSS and the page language's translation) at most 15 KB on the wire, count.js at most
1.5 KB. The page's language is the one whose translation is largest once gzipped, so the
figure is the worst a reader pays."""

from __future__ import annotations

import gzip
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import I18N_DIR, no_page_errors

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

EMBED_BUDGET = 15 * 1024
COUNT_BUDGET = 1536


def largest_translation() -> str:
    files = sorted(I18N_DIR.glob("*.json"))
    return max(files, key=lambda path: len(gzip.compress(path.read_bytes(), 9))).stem


def on_the_wire(context, paths: set[str]) -> dict[str, tuple[int, str | None]]:
    """Bytes of body each finished response in ``paths`` took on the wire, and its encoding."""
    seen = {}
    for request in context.requests:
        path = urlsplit(request.url).path
        if path in paths:
            response = request.response()
            assert response is not None, path
            assert response.status == 200, path
            encoding = response.headers.get("content-encoding")
            seen[path] = (request.sizes()["responseBodySize"], encoding)
    return seen


def test_the_embed_is_at_most_15_kb_on_the_wire(site, page, context):
    s = site()
    s.comment("/post/", text="A comment, so the thread is drawn.")
    lang = largest_translation()
    page.goto(s.add_page("/post/", lang=lang))
    expect(page.locator("#commentd article.cd-comment")).to_have_count(1)
    files = {"/js/embed.js", "/js/embed.css", f"/js/i18n/{lang}.json"}
    seen = on_the_wire(context, files)
    assert set(seen) == files, seen
    assert {encoding for _, encoding in seen.values()} == {"gzip"}, seen
    total = sum(size for size, _ in seen.values())
    print(f"\nembed on the wire ({lang}): {seen}; total {total:,} B of {EMBED_BUDGET:,} B")
    assert total <= EMBED_BUDGET, seen
    no_page_errors(page)


def test_count_js_is_at_most_1_5_kb_on_the_wire(site, page, context):
    s = site()
    s.comment("/a/", text="one")
    body = '<p><a id="link-a" href="/a/#commentd">A</a></p>'
    page.goto(s.add_page("/", body=body, scripts=s.script("count.js")))
    expect(page.locator("#link-a")).to_have_text("1")
    seen = on_the_wire(context, {"/js/count.js"})
    size, encoding = seen["/js/count.js"]
    print(f"\ncount.js on the wire: {size:,} B ({encoding}) of {COUNT_BUDGET:,} B")
    assert encoding == "gzip"
    assert size <= COUNT_BUDGET
    no_page_errors(page)
