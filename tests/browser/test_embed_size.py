"""What the embed costs a reader, from Chromium's own network log: every byte the embed needs
(JS, CSS and the page language's translation) at most 15 KB on the wire, count.js at most
1.5 KB. Chromium takes Brotli (on localhost as over HTTPS, so from every blog served over
HTTPS); the gzip figure, what a browser gets over plain HTTP, is printed beside it. The page's
language is the one whose translation is largest as sent, so the figure is the worst a reader
pays."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from commentd.web.assets import brotli_of, prepared
from commentd.web.compression import compress
from tests.browser.conftest import I18N_DIR, no_page_errors

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

EMBED_BUDGET = 15 * 1024
COUNT_BUDGET = 1536
JS_DIR = I18N_DIR.parent


def largest_translation() -> str:
    files = sorted(I18N_DIR.glob("*.json"))
    return max(files, key=lambda path: len(brotli_of(prepared(path)))).stem


def gzipped(name: str) -> int:
    """The bytes commentd sends a client that takes gzip but not Brotli."""
    return len(compress(prepared(JS_DIR / name)))


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
    assert {encoding for _, encoding in seen.values()} == {"br"}, seen
    total = sum(size for size, _ in seen.values())
    in_gzip = sum(gzipped(name) for name in ("embed.js", "embed.css", f"i18n/{lang}.json"))
    print(
        f"\nembed on the wire ({lang}): {seen}; total {total:,} B of {EMBED_BUDGET:,} B"
        f" ({in_gzip:,} B in gzip)"
    )
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
    assert encoding == "br"
    assert size <= COUNT_BUDGET
    no_page_errors(page)
