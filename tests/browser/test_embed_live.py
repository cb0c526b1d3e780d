"""Live updates in the embed: while the page is open it polls the thread's first page with
``If-None-Match`` (``data-poll`` seconds, short here), shows "N new comments, show them" when
approved comments arrive, and inserts them where the server puts them without moving what the
reader looks at. No polling while the tab is hidden; slower polling while nothing changes."""

from __future__ import annotations

import itertools
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import embed, no_page_errors, wait_thread

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

LONG = "A paragraph long enough to take some room on the page. " * 8


def polls(context) -> list:
    """The thread reads (``GET /api/comments?uri=...``) the context made, in order."""
    return [
        r
        for r in context.requests
        if r.method == "GET"
        and urlsplit(r.url).path == "/api/comments"
        and "uri" in parse_qs(urlsplit(r.url).query)
    ]


def read_starts(page) -> list[float]:
    """When (ms since the page started) each thread read began, from the page's own
    Resource Timing entries: not skewed by the test's event loop."""
    return page.evaluate(
        """() => performance.getEntriesByType("resource")
            .filter((e) => /\\/api\\/comments\\?uri=/.test(e.name)).map((e) => e.startTime)"""
    )


def set_hidden(page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background (or comes back)."""
    page.evaluate(
        """(hidden) => {
            Object.defineProperty(document, "visibilityState",
                {configurable: true, get: () => (hidden ? "hidden" : "visible")});
            Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def one_comment_page(site, page, poll: str):
    """A thread of one comment, open in ``page`` with ``data-poll=poll``; the site."""
    s = site()
    s.comment(text="A comment")
    page.goto(s.add_page(body=embed(poll=poll)))
    wait_thread(page, 1)
    return s


def test_new_comments_are_announced_and_shown_in_place(site, page):
    s = site()
    ids = [s.comment(text=f"Comment {n}. {LONG}", author=f"Reader {n}")["id"] for n in range(12)]
    page.goto(s.add_page(body=embed(poll="0.3")))
    wait_thread(page, 12)
    banner = page.locator("button.cd-news")
    expect(banner).to_be_hidden()

    # The reader is halfway down the thread: comment 7 at the top of the window.
    page.locator(f"#c{ids[7]}").evaluate("(a) => a.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    before = page.locator(f"#c{ids[8]}").bounding_box()
    scroll = page.evaluate("scrollY")
    assert scroll > 0

    reply = s.comment(text="A reply to comment 2, above the reader", parent=ids[2])
    last = s.comment(text="A new comment at the end", author="Late")
    expect(banner).to_be_visible()
    expect(banner).to_have_text("2 new comments, show them")
    expect(page.locator(".cd-live[aria-live=polite]")).to_have_text("2 new comments, show them")
    assert page.locator(f"#c{reply['id']}").count() == 0  # nothing moves until the reader asks
    assert page.evaluate("scrollY") == scroll

    banner.click()
    expect(page.locator(f"#c{ids[2]} > .cd-replies > #c{reply['id']}")).to_have_count(1)
    expect(page.locator(f".cd-thread > article.cd-comment#c{last['id']}")).to_have_count(1)
    assert page.locator(".cd-thread > article.cd-comment").last.get_attribute("id") == (
        f"c{last['id']}"
    )
    expect(page.locator("h2.cd-title")).to_have_text("14 comments")
    expect(banner).to_be_hidden()
    after = page.locator(f"#c{ids[8]}").bounding_box()
    assert abs(after["y"] - before["y"]) <= 1, (before, after)  # the reader's place is kept
    # Focus goes to the first new comment (in document order), without scrolling to it.
    focused = page.evaluate("document.getElementById('commentd').shadowRoot.activeElement?.id")
    assert focused == f"c{reply['id']}"
    no_page_errors(page)


def test_newest_first_puts_new_comments_on_top_and_own_comments_are_not_new(site, page):
    s = site()
    for n in range(3):
        s.comment(text=f"Comment {n}")
    page.goto(s.add_page(body=embed(poll="0.2", sort="newest")))
    wait_thread(page, 3)

    # The reader's own comment, posted through the embed, is shown at once and never "new".
    form = page.locator("form.cd-composer.cd-main")
    form.locator("textarea[name=text]").fill("My own comment")
    form.locator("button.cd-submit").click()
    expect(page.locator("h2.cd-title")).to_have_text("4 comments")
    page.wait_for_timeout(1000)
    expect(page.locator("button.cd-news")).to_be_hidden()

    new = s.comment(text="Someone else's comment", author="Other")
    expect(page.locator("button.cd-news")).to_have_text("1 new comment, show it")
    page.locator("button.cd-news").click()
    first = page.locator(".cd-thread > article.cd-comment").first
    expect(first).to_have_attribute("id", f"c{new['id']}")
    expect(page.locator("h2.cd-title")).to_have_text("5 comments")
    no_page_errors(page)


def test_polls_are_conditional_and_back_off_while_nothing_changes(site, page, context):
    one_comment_page(site, page, "0.2")  # backs off to 12 x 0.2 s = 2.4 s
    page.wait_for_timeout(7000)

    reads = polls(context)
    assert len(reads) >= 6, len(reads)
    first, later = reads[0], reads[1:]
    etag = first.response().headers["etag"]
    assert first.response().status == 200
    for read in later:
        assert read.all_headers().get("if-none-match") == etag
        assert read.response().status == 304

    starts = read_starts(page)[1:]  # the polls, after the first load
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[-1] > 3 * gaps[0], gaps  # 0.3 s after the first poll, then x1.5, jittered
    assert max(gaps) < 2400 * 1.2 + 500, gaps  # capped
    no_page_errors(page)


def test_no_polling_while_the_tab_is_hidden(site, page, context):
    s = one_comment_page(site, page, "2")
    page.wait_for_timeout(2500)
    assert len(polls(context)) >= 2

    set_hidden(page, True)
    page.wait_for_timeout(300)  # a read already under way may finish
    count = len(polls(context))
    s.comment(text="Posted while nobody looks")
    page.wait_for_timeout(5000)  # visible, it would have asked within 2 x 1.5 x 1.2 s
    assert len(polls(context)) == count
    expect(page.locator("button.cd-news")).to_be_hidden()

    started = time.monotonic()
    set_hidden(page, False)  # one check at once, not after the interval
    expect(page.locator("button.cd-news")).to_have_text("1 new comment, show it")
    assert time.monotonic() - started < 1.5  # not after the interval (2 s, then more)
    assert len(polls(context)) == count + 1
    no_page_errors(page)


def test_data_poll_0_turns_live_updates_off(site, page, context):
    one_comment_page(site, page, "0")
    page.wait_for_timeout(1500)
    assert len(polls(context)) == 1
    no_page_errors(page)
