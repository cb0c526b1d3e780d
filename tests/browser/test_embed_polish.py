"""The embed keeps its word: honest errors for a page that may not post, a notify box only when
mail can be sent, focus on what was just posted, an edit window that closes on time, errors
that go when fixed, a character counter, and comment boxes that keep their height off screen."""

from __future__ import annotations

import re

import pytest

from commentd.services import outbox
from commentd.storage.database import connection
from tests.browser.conftest import (
    deep_focus,
    embed,
    no_page_errors,
    strings,
    wait_thread,
)
from tests.browser.test_embed_compose import post_in

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

EN = strings("en")


def main_form(page):
    return page.locator("form.cd-composer.cd-main")


# -- a page on an origin that may not post -----------------------------------------------------


def test_a_page_that_may_not_post_reads_the_thread_and_tells_its_owner(site, page):
    s = site(**{"server.allowed_origins": "https://the-real-blog.example"})
    s.comment(text="Readable from anywhere.")
    warnings = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(s.add_page())
    # the read worked: reads are granted to every origin
    article = page.locator("article.cd-comment")
    expect(article.locator(".cd-body")).to_have_text("Readable from anywhere.")
    note = page.locator("p.cd-blocked")
    message = EN["origin_blocked"].replace("{origin}", s.page_origin)
    expect(note).to_have_text(message)
    assert "allowed_origins" in message
    assert s.page_origin in message
    # nothing is offered that the server would refuse
    expect(main_form(page)).to_have_count(0)
    expect(article.locator("button.cd-reply, button.cd-report")).to_have_count(0)
    expect(article.locator("button.cd-like")).to_be_disabled()
    assert any(s.page_origin in w and "allowed_origins" in w for w in warnings), warnings
    no_page_errors(page)


def test_a_browser_on_a_refused_origin_can_read_why(site, page):
    """Chromium's own CORS rules: the preflight passes and the 403's JSON is readable."""
    s = site(**{"server.allowed_origins": "https://the-real-blog.example"})
    comment = s.comment(text="A comment to vote on")
    page.goto(s.add_page(body="<p>No embed here.</p>", scripts=""))
    answer = page.evaluate(
        """async url => {
      const r = await fetch(url, {method: "POST", credentials: "omit",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({value: 1})});
      return [r.status, await r.json()];
    }""",
        f"{s.api_origin}/api/comments/{comment['id']}/vote",
    )
    status, body = answer
    assert status == 403
    assert body["error"]["code"] == "origin_not_allowed"
    assert s.page_origin in body["error"]["message"]


# -- notifications -------------------------------------------------------------------------


def test_no_notify_box_when_the_server_cannot_send_mail(site, page):
    s = site()  # no mail.host
    page.goto(s.add_page())
    wait_thread(page, 0)
    expect(main_form(page).locator("input[name=email]")).to_have_count(1)
    expect(main_form(page).locator("input[name=notify]")).to_have_count(0)
    expect(main_form(page).locator("input[name=notify_thread]")).to_have_count(0)
    expect(page.get_by_text(EN["notify"])).to_have_count(0)


def confirmation_link(s) -> str:
    """The confirmation link of the last mail queued, on this test's server."""
    with connection():
        mails = [outbox.payload_of(m) for m in outbox.messages()]
    link = next(
        re.search(r"\S+/confirm/\S+", m["text"])[0] for m in mails if "/confirm/" in m["text"]
    )
    return s.api_origin + "/confirm/" + link.split("/confirm/", 1)[1]


def post_main(page, text: str) -> None:
    form = main_form(page)
    form.locator("textarea[name=text]").fill(text)
    form.locator("button.cd-submit").click()


def test_notify_says_a_confirmation_comes_first_then_what_happens_next_and_is_remembered(
    site, page
):
    s = site(**{"mail.host": "127.0.0.1", "mail.sender": "c@example.com"})
    page.goto(s.add_page())
    wait_thread(page, 0)
    form = main_form(page)
    form.locator("input[name=email]").fill("reader@example.com")
    form.locator("input[name=notify]").check()
    form.locator("input[name=notify_thread]").check()
    expect(page.get_by_text(EN["notify_thread"])).to_have_count(1)
    post_main(page, "Tell me about replies")
    confirm_first = EN["notify_confirm"].replace("{email}", "reader@example.com")
    mine = page.locator("article.cd-comment")
    expect(mine.locator("p.cd-next")).to_have_text(confirm_first)
    expect(page.locator("div.cd-live")).to_contain_text(confirm_first)

    page.goto(confirmation_link(s))  # the link in the mail: a page, then its button
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("h1")).to_have_text("Confirmed")

    # the next comment, on the next page load, starts with the same choices and address
    page.goto(s.page_origin + "/post/")
    wait_thread(page, 1)
    expect(form.locator("input[name=email]")).to_have_value("reader@example.com")
    expect(form.locator("input[name=notify]")).to_be_checked()
    expect(form.locator("input[name=notify_thread]")).to_be_checked()
    post_main(page, "A second comment")
    next_step = EN["notify_next"].replace("{email}", "reader@example.com")
    expect(page.locator("article.cd-comment p.cd-next").last).to_have_text(next_step)

    form.locator("input[name=notify]").uncheck()  # the thread alone
    post_main(page, "A third comment")
    thread_step = EN["notify_next_thread"].replace("{email}", "reader@example.com")
    expect(page.locator("article.cd-comment p.cd-next").last).to_have_text(thread_step)
    no_page_errors(page)


# -- focus after posting -----------------------------------------------------------------------


def outline_width(locator) -> float:
    return locator.evaluate(
        "e => getComputedStyle(e).outlineStyle === 'none' ? 0"
        " : parseFloat(getComputedStyle(e).outlineWidth)"
    )


def test_a_new_comment_and_a_new_reply_get_focus_with_a_visible_ring(site, page):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, "A top-level comment")  # clicked with the mouse
    first = page.locator("article.cd-comment", has_text="A top-level comment")
    expect(first).to_have_count(1)
    expect(first).to_be_focused()
    assert outline_width(first) >= 2
    first.locator("button.cd-reply").click()
    reply_form = page.locator("form.cd-reply-form")
    reply_form.locator("textarea[name=text]").fill("A reply")
    reply_form.locator("button.cd-submit").click()
    reply = page.locator("article.cd-comment", has_text="A reply").last
    expect(reply).to_be_focused()
    assert deep_focus(page).startswith("article")
    assert outline_width(reply) >= 2
    no_page_errors(page)


# -- the edit window ---------------------------------------------------------------------------


def test_edit_and_delete_go_the_moment_the_edit_window_closes(site, page):
    s = site(**{"comments.edit_window": "4s"})
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, "Editable for a moment")
    article = page.locator("article.cd-comment")
    expect(article.locator("button.cd-edit")).to_have_count(1)
    expect(article.locator(".cd-remaining")).to_have_text("1 min left")
    # the half-minute tick is far off: the window's own end removes them
    expect(article.locator("button.cd-edit")).to_have_count(0, timeout=6000)
    expect(article.locator("button.cd-delete")).to_have_count(0)
    expect(article.locator(".cd-remaining")).to_have_count(0)


# -- errors that go when fixed, and the character counter -------------------------------------


def test_the_too_long_error_goes_once_the_text_is_shortened(site, page):
    s = site(**{"comments.max_length": 20})
    page.goto(s.add_page())
    wait_thread(page, 0)
    form = post_in(page, "x" * 30)
    error = form.locator(".cd-error")
    expect(error).to_have_text(EN["error_too_long"])
    form.locator("textarea[name=text]").fill("short enough")
    expect(error).to_have_text("")
    expect(form.locator("textarea[name=text]")).not_to_have_attribute("aria-invalid", "true")


def test_a_character_counter_near_the_limit_is_announced_politely(site, page):
    s = site(**{"comments.max_length": 1000})
    page.goto(s.add_page())
    wait_thread(page, 0)
    form = main_form(page)
    text = form.locator("textarea[name=text]")
    counter = form.locator(".cd-count")
    text.fill("a" * 100)
    expect(counter).to_be_hidden()  # far from the limit: nothing to say
    text.fill("é" * 905)  # counted as the server counts: characters, not bytes
    expect(counter).to_be_visible()
    expect(counter).to_have_text("95 characters left")
    expect(page.locator("div.cd-live")).to_have_text("95 characters left")
    assert counter.get_attribute("id") in text.get_attribute("aria-describedby").split()
    text.fill("a" * 1003)
    expect(counter).to_have_text(EN["error_too_long"])
    text.fill("a" * 999)
    expect(counter).to_have_text("1 character left")


# -- long threads -------------------------------------------------------------------------------


def test_off_screen_comments_are_estimated_near_their_real_height(site, page):
    s = site()
    for n in range(12):
        top = s.comment(text=f"Top-level comment {n}. " + "Some words to read. " * (n * 3))
        for r in range(n % 4 * 3):
            s.comment(text=f"Reply {r} to {n}", parent=top["id"])
    page.goto(s.add_page(body=embed(poll="0")))
    wait_thread(page, 12 + sum(n % 4 * 3 for n in range(12)))
    ratios = page.evaluate(
        """() => {
      const sr = document.getElementById("commentd").shadowRoot;
      return [...sr.querySelectorAll(".cd-thread > article")].map(a => {
        const em = parseFloat(getComputedStyle(a).fontSize);
        const guess = parseFloat(a.style.containIntrinsicSize.split(" ")[1]) * em;
        a.style.contentVisibility = "visible";
        const real = a.getBoundingClientRect().height;
        return real / guess;
      });
    }"""
    )
    assert len(ratios) == 12
    # every guess within a factor of two of the real height (a fixed 9em was off by up to 9x)
    assert all(0.5 <= r <= 2 for r in ratios), ratios
