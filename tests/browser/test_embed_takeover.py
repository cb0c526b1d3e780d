"""A page that already holds the server-rendered thread (``GET /html/thread`` inside
``#commentd``) shows it until the embed has drawn its own, which then takes its place without
a blank moment and without moving the comment the reader was looking at."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_page_errors

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

SHADOW_TOP = """id => document.querySelector('#commentd').shadowRoot.getElementById('c' + id)
    .getBoundingClientRect().top"""
LIGHT_TOP = "id => document.getElementById('c' + id).getBoundingClientRect().top"


def page_with_fragment(s, count: int) -> tuple[str, list[int]]:
    ids = [
        s.comment("/post/", text=f"Comment number {n}\n\n" + "A line. " * 30)["id"]
        for n in range(count)
    ]
    fragment = s.api.get("/html/thread", query={"uri": "/post/"}).raw.decode()
    body = f'<p>The post.</p>\n<div id="commentd" data-uri="/post/" data-poll="0">{fragment}</div>'
    return s.add_page("/post/", body=body), ids


def hold_thread_reads(page) -> list:
    """Keep the embed's thread reads waiting until the test lets them through."""
    held = []
    page.route("**/api/comments?*", lambda route: held.append(route))
    return held


def test_the_fragment_stays_on_screen_until_the_embed_has_drawn(site, page):
    s = site()
    url, ids = page_with_fragment(s, 3)
    held = hold_thread_reads(page)
    page.goto(url)
    light = page.locator(f"#commentd-thread #c{ids[0]}")
    expect(light).to_be_visible()  # while the embed waits for its data
    page.wait_for_function("() => document.querySelector('#commentd').shadowRoot !== null")
    expect(light).to_be_visible()
    assert held
    for route in held:
        route.continue_()
    shown = page.locator("#commentd article.cd-comment >> visible=true")
    expect(shown).to_have_count(3)
    expect(page.locator("#commentd-thread")).to_be_hidden()
    expect(shown.first.locator("footer button").first).to_be_visible()  # interactive now
    no_page_errors(page)


def test_the_reader_keeps_their_place_when_the_embed_takes_over(site, page):
    s = site()
    url, ids = page_with_fragment(s, 24)
    held = hold_thread_reads(page)
    page.goto(url)
    target = ids[12]
    page.wait_for_function("() => document.querySelector('#commentd').shadowRoot !== null")
    page.evaluate("id => document.getElementById('c' + id).scrollIntoView()", target)
    page.evaluate("() => window.scrollBy(0, -40)")
    before = page.evaluate(LIGHT_TOP, target)
    assert 30 < before < 50
    for route in held:
        route.continue_()
    expect(page.locator("#commentd-thread")).to_be_hidden()
    page.wait_for_timeout(200)  # a frame or two for content-visibility to settle
    after = page.evaluate(SHADOW_TOP, target)
    assert abs(after - before) <= 3, (before, after)
    no_page_errors(page)


def test_without_the_api_the_fragment_stays(site, page):
    s = site()
    url, ids = page_with_fragment(s, 2)
    page.route("**/api/comments?*", lambda route: route.abort())
    page.goto(url)
    page.wait_for_function("() => document.querySelector('#commentd').shadowRoot !== null")
    page.wait_for_timeout(300)
    expect(page.locator(f"#commentd-thread #c{ids[1]}")).to_be_visible()


def thread_reads(context) -> list[int]:
    return [
        r.response().status
        for r in context.requests
        if "/api/comments?" in r.url and r.response() is not None
    ]


def test_a_current_fragment_is_not_downloaded_again(site, page, context):
    s = site()
    ada = s.comment("/post/", text="Hello *there*", author="Ada", website="https://ada.example")
    s.comment("/post/", text="A reply", author="Bob", parent=ada["id"])
    fragment = s.api.get("/html/thread", query={"uri": "/post/"}).raw.decode()
    body = f'<div id="commentd" data-uri="/post/" data-poll="0">{fragment}</div>'
    page.goto(s.add_page("/post/", body=body))
    shown = page.locator("#commentd article.cd-comment >> visible=true")
    expect(shown).to_have_count(2)
    expect(page.locator("#commentd-thread")).to_be_hidden()
    assert thread_reads(context) == [304]  # asked whether it is current; no body came
    first = shown.first
    expect(first.locator(".cd-body em")).to_have_text("there")
    expect(first.locator("a.cd-author")).to_have_attribute("href", "https://ada.example")
    expect(shown.nth(1).locator(".cd-body")).to_have_text("A reply")
    expect(page.locator("#commentd h2.cd-title")).to_contain_text("2")
    first.locator(":scope > footer button.cd-reply").click()  # the thread built from the page works
    expect(first.locator(":scope > .cd-reply-form textarea")).to_be_focused()
    no_page_errors(page)


def test_a_stale_fragment_is_replaced_by_the_current_thread(site, page, context):
    s = site()
    s.comment("/post/", text="Old one")
    fragment = s.api.get("/html/thread", query={"uri": "/post/"}).raw.decode()
    s.comment("/post/", text="Written after the page was built")
    body = f'<div id="commentd" data-uri="/post/" data-poll="0">{fragment}</div>'
    page.goto(s.add_page("/post/", body=body))
    shown = page.locator("#commentd article.cd-comment >> visible=true")
    expect(shown).to_have_count(2)
    expect(shown.nth(1).locator(".cd-body")).to_have_text("Written after the page was built")
    assert thread_reads(context) == [200]
    no_page_errors(page)
