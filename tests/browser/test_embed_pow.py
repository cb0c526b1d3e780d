"""Proof of work in the real embed, in Chromium: the challenge is solved in a Web Worker
(pow.js, fetched only when a challenge is handed out) while the reader types, and a
403 challenge_required is solved and sent again by itself; the reader only types and posts."""

from __future__ import annotations

import pytest

from commentd.storage.database import connection
from commentd.storage.models import Comment, Status
from tests.browser.conftest import english_count, no_page_errors, wait_thread
from tests.browser.test_embed_compose import post_in
from tests.browser.test_embed_traps import posted_bodies

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

LINK = "More on this at https://example.com/more"


def asked(context, path: str) -> int:
    return sum(1 for r in context.requests if r.url.split("?")[0].endswith(path))


def statuses() -> dict[str, Status]:
    with connection():
        return {c.text: c.status for c in Comment.select()}


def test_always_a_comment_posts_with_its_work_done_while_the_reader_typed(site, page, context):
    s = site(**{"spam.proof_of_work": "always", "spam.pow_max_number": 100_000})
    page.goto(s.add_page())
    wait_thread(page, 0)
    assert asked(context, "/js/pow.js") == 0  # nothing loaded before the reader writes
    post_in(page, "Worth the wait.")
    mine = page.locator("article.cd-comment", has_text="Worth the wait.")
    expect(mine).to_have_count(1)
    expect(page.locator("h2.cd-title")).to_have_text(english_count(1))
    expect(page.locator("form.cd-main .cd-error")).to_have_text("")
    sent = posted_bodies(context)
    assert len(sent) == 1  # solved before the first POST: no refusal, no retry
    assert sent[0]["altcha"]
    assert asked(context, "/api/challenge") == 1
    assert asked(context, "/js/pow.js") == 1
    assert statuses() == {"Worth the wait.": Status.APPROVED}
    no_page_errors(page)


def test_a_challenge_required_answer_is_solved_and_sent_again_by_itself(site, page, context):
    s = site(**{"spam.proof_of_work": "suspicious"})
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, LINK)  # a clean first reader: no challenge up front; the link asks for one
    mine = page.locator("article.cd-comment", has_text="More on this at")
    expect(mine).to_have_count(1)
    expect(mine.locator("a[href='https://example.com/more']")).to_have_count(1)
    expect(page.locator("form.cd-main .cd-error")).to_have_text("")
    first, second = posted_bodies(context)
    assert not first.get("altcha")  # refused with 403 challenge_required
    assert second["altcha"]
    assert {k: v for k, v in first.items() if k != "altcha"} == {
        k: v for k, v in second.items() if k != "altcha"
    }
    assert asked(context, "/js/pow.js") == 1
    assert statuses() == {LINK: Status.APPROVED}

    # The same reader, now with an approved comment, pays nothing for the next one.
    post_in(page, "And another link: https://example.com/again")
    expect(page.locator("article.cd-comment")).to_have_count(2)
    assert not posted_bodies(context)[2].get("altcha")
    assert len(posted_bodies(context)) == 3
    no_page_errors(page)


def test_off_never_asks_for_a_challenge(site, page, context):
    s = site(**{"spam.proof_of_work": "off"})
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, LINK)
    expect(page.locator("article.cd-comment")).to_have_count(1)
    assert asked(context, "/api/challenge") == 0
    assert asked(context, "/js/pow.js") == 0
