"""The recent-comments widget (/js/recent.js) on a blog page of another origin: it lists the
site's newest comments, shows hostile names and text as text, and stays small."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import no_page_errors
from tests.browser.test_embed_size import on_the_wire

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

RECENT_BUDGET = 2048
WIDGET = '<aside><div id="recent" data-commentd-recent data-limit="2"></div></aside>'
HOSTILE = '<img src=x onerror="window.__owned=1"><script>window.__owned=1</script>'


def test_the_widget_lists_the_newest_comments_as_text(site, page):
    s = site(**{"site.url": "https://blog.example.com"})
    s.comment("/old/", text="The oldest one.", title="Old post")
    s.comment("/a/", author=HOSTILE, text=f"Look: {HOSTILE} **bold**", title=f"A {HOSTILE}")
    s.comment("/b/", author="Ada", text="Nice *post*.", title="Second post")
    page.goto(s.add_page("/", body=WIDGET, scripts=s.script("recent.js")))
    items = page.locator("#recent ol > li")  # Playwright's locators pierce the shadow root
    expect(items).to_have_count(2)
    newest, hostile = items.nth(0), items.nth(1)
    expect(newest.locator("b")).to_have_text("Ada")
    link = newest.get_by_role("link", name="Second post")
    expect(link).to_have_attribute("href", "https://blog.example.com/b/#c3")
    expect(newest.locator("p")).to_have_text("Nice post.")
    expect(newest.locator("time")).to_have_attribute("datetime", re.compile("Z$"))
    expect(hostile.locator("b")).to_have_text(HOSTILE)
    expect(hostile.get_by_role("link")).to_have_text(f"A {HOSTILE}")
    expect(hostile.locator("p")).to_contain_text("Look:")
    shadow = "document.querySelector('#recent').shadowRoot"
    assert page.evaluate(f"{shadow}.querySelector('img, script:not([src])')") is None
    assert page.evaluate("window.__owned") is None
    expect(page.get_by_role("list", name="Recent comments")).to_be_visible()
    no_page_errors(page)


def test_recent_js_is_at_most_2_kb_on_the_wire(site, page, context):
    s = site()
    s.comment("/a/", text="one")
    page.goto(s.add_page("/", body=WIDGET, scripts=s.script("recent.js")))
    expect(page.locator("#recent ol > li")).to_have_count(1)
    size, encoding = on_the_wire(context, {"/js/recent.js"})["/js/recent.js"]
    print(f"\nrecent.js on the wire: {size:,} B ({encoding}) of {RECENT_BUDGET:,} B")
    assert encoding == "br"  # Chromium takes Brotli on localhost as over HTTPS
    assert size <= RECENT_BUDGET
    no_page_errors(page)


def test_the_embed_links_to_its_thread_feed(site, page):
    s = site()
    s.comment("/post/?a=1&b=2", text="one")
    page.goto(s.add_page("/post/", body='<div id="commentd" data-uri="/post/?a=1&amp;b=2"></div>'))
    link = page.locator("#commentd").get_by_role("link", name="Comments feed")
    expect(link).to_have_attribute(
        "href", f"{s.api_origin}/feed/thread.atom?uri=%2Fpost%2F%3Fa%3D1%26b%3D2&lang=en"
    )
    # in the page's language
    page.goto(s.add_page("/de/", lang="de", body='<div id="commentd" data-uri="/post/"></div>'))
    link = page.locator("#commentd a.cd-feed")
    expect(link).to_have_attribute(
        "href", f"{s.api_origin}/feed/thread.atom?uri=%2Fpost%2F&lang=de"
    )
    no_page_errors(page)
