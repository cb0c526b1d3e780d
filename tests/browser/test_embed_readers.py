"""Readers, not addresses: two browsers behind one address each have their own vote, a reader
may vote on a neighbour's comment, a report reaches the moderators; and right-to-left readers
get a mirrored embed (screenshots, axe) whose comment text keeps its own direction."""

from __future__ import annotations

import json

import pytest

from commentd.storage.database import connection
from commentd.storage.models import Comment, Status
from tests.browser.conftest import (
    AXE_JS,
    SCREENSHOTS,
    embed,
    local_json,
    no_page_errors,
    plural,
    strings,
    wait_thread,
    watch,
)
from tests.browser.test_embed_a11y import AXE_RUN, build_thread
from tests.browser.test_embed_compose import post_in

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


def tallies(page, comment_id: int) -> tuple[str, str, str, str]:
    article = page.locator(f"#c{comment_id}")
    like, dislike = article.locator("button.cd-like"), article.locator("button.cd-dislike")
    return (
        like.locator(".cd-likes").inner_text(),
        dislike.locator(".cd-dislikes").inner_text(),
        like.get_attribute("aria-pressed"),
        dislike.get_attribute("aria-pressed"),
    )


def test_two_readers_on_one_address_each_have_their_own_vote(site, new_context):
    s = site()
    comment = s.comment(text="Worth a vote")
    url = s.add_page()
    first, second = watch(new_context().new_page()), watch(new_context().new_page())
    for page in (first, second):
        page.goto(url)
        wait_thread(page, 1)
    first.locator("button.cd-like").click()
    expect(first.locator("button.cd-like")).to_have_attribute("aria-pressed", "true")
    second.locator("button.cd-dislike").click()
    expect(second.locator("button.cd-dislike")).to_have_attribute("aria-pressed", "true")
    # the second reader's dislike did not turn the first reader's like into one
    expect(second.locator(".cd-likes")).to_have_text("1")
    expect(second.locator(".cd-dislikes")).to_have_text("1")
    with connection():
        stored = Comment.get_by_id(comment["id"])
        assert (stored.likes, stored.dislikes) == (1, 1)
    # each browser has its own reader id, never the same, and the server keeps no raw id
    ids = {local_json(page, "commentd:voter") for page in (first, second)}
    assert len(ids) == 2
    with connection():
        from commentd.storage.models import Vote

        assert not {v.voter for v in Vote.select()} & ids
    # the first reader withdraws: the server's tally shows at once
    first.locator("button.cd-like").click()
    expect(first.locator("button.cd-like")).to_have_attribute("aria-pressed", "false")
    assert tallies(first, comment["id"]) == ("0", "1", "false", "false")
    no_page_errors(first)
    no_page_errors(second)


def test_a_neighbour_may_vote_on_a_comment_and_its_author_may_not(site, new_context):
    s = site()
    s.comment(text="Someone's comment")
    url = s.add_page()
    author = watch(new_context().new_page())
    author.goto(url)
    wait_thread(author, 1)
    post_in(author, "My own comment")
    mine = author.locator("article.cd-comment", has_text="My own comment")
    expect(mine).to_have_count(1)
    expect(mine.locator("button.cd-like")).to_be_disabled()  # holds its token
    neighbour = watch(new_context().new_page())  # the same address: 127.0.0.1
    neighbour.goto(url)
    wait_thread(neighbour, 2)
    theirs = neighbour.locator("article.cd-comment", has_text="My own comment")
    theirs.locator("button.cd-like").click()
    expect(theirs.locator("button.cd-like")).to_have_attribute("aria-pressed", "true")
    expect(theirs.locator(".cd-likes")).to_have_text("1")
    expect(theirs.locator(".cd-alert")).to_have_count(0)
    no_page_errors(neighbour)


def test_a_report_reaches_the_moderators_and_enough_of_them_hide_it(site, new_context):
    s = site(**{"moderation.reports_to_hide": 2})
    comment = s.comment(text="Buy cheap watches")
    url = s.add_page()
    words = strings("en")
    for n, reason in enumerate(("spam", "abuse")):
        page = watch(new_context().new_page())
        page.goto(url)
        wait_thread(page, 1)
        article = page.locator(f"#c{comment['id']}")
        article.locator("button.cd-report").click()
        expect(article.locator("button.cd-report")).to_have_attribute("aria-expanded", "true")
        form = article.locator("form.cd-report-form")
        expect(form.get_by_role("group", name=words["report_label"])).to_be_visible()
        form.get_by_label(words["reason_" + reason]).check()
        form.locator("button.cd-submit").click()
        expect(article.locator("p.cd-note")).to_have_text(words["reported"])
        expect(article.locator("p.cd-note")).to_be_focused()
        expect(article.locator("button.cd-report")).to_have_count(0)
        with connection():
            status = Comment.get_by_id(comment["id"]).status
        assert status == (Status.APPROVED if n == 0 else Status.PENDING)
        no_page_errors(page)
    # hidden pending review: a new reader no longer sees it
    page = watch(new_context().new_page())
    page.goto(url)
    wait_thread(page, 0)


def test_a_report_form_is_keyboard_friendly(site, page):
    s = site()
    s.comment(text="Off topic")
    page.goto(s.add_page())
    wait_thread(page, 1)
    report = page.locator("button.cd-report")
    report.focus()
    page.keyboard.press("Enter")
    expect(page.locator("form.cd-report-form input[name=reason]").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("form.cd-report-form")).to_have_count(0)
    expect(report).to_be_focused()
    expect(report).to_have_attribute("aria-expanded", "false")


# -- right to left ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "he"])
def test_right_to_left_is_mirrored_and_axe_clean(site, page, lang):
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core missing at {AXE_JS}: run npm ci --prefix tests/browser")
    s = site()
    build_thread(s)
    page.goto(s.add_page(lang=lang, body=embed(poll="0")))
    words = strings(lang)
    root = page.locator("section.cd-root")
    expect(root).to_have_attribute("dir", "rtl")
    expect(root).to_have_attribute("lang", lang)
    expect(page.locator("h2.cd-title")).to_have_text(plural(page, lang, words["comments"], 5))
    expect(page.locator("article.cd-comment")).to_have_count(5)
    layout = page.evaluate(
        """() => {
      const sr = document.getElementById("commentd").shadowRoot;
      const body = sr.querySelector(".cd-thread > article > .cd-body");
      const replies = sr.querySelector(".cd-replies");
      const avatar = sr.querySelector(".cd-thread > article > header > .cd-avatar");
      const head = avatar.parentNode.getBoundingClientRect();
      const s = getComputedStyle(body), r = getComputedStyle(replies);
      return {
        bodyPad: [parseFloat(s.paddingLeft), parseFloat(s.paddingRight)],
        replyBorder: [parseFloat(r.borderLeftWidth), parseFloat(r.borderRightWidth)],
        avatarAtRight: head.right - avatar.getBoundingClientRect().right < 2,
        textDir: getComputedStyle(body.querySelector("p")).direction,
      };
    }"""
    )
    assert layout["bodyPad"][0] == 0 < layout["bodyPad"][1]  # the indent is on the right
    assert layout["replyBorder"][0] == 0 < layout["replyBorder"][1]  # so is the reply line
    assert layout["avatarAtRight"]  # the avatar starts the line, on the right
    assert layout["textDir"] == "ltr"  # an English comment reads left to right (dir=auto)
    expect(page.locator("form.cd-main button.cd-submit")).to_have_text(words["submit"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"thread-rtl-{lang}.png"), full_page=True)
    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate(AXE_RUN)
    assert violations == [], json.dumps(violations, indent=2, ensure_ascii=False)
    no_page_errors(page)


def test_a_right_to_left_comment_in_an_english_thread_keeps_the_threads_indent(site, page):
    s = site()
    s.comment(text="مقالة رائعة، شكرا لك", author="Ali")
    s.comment(text="Great post, thanks!", author="Ada")
    page.goto(s.add_page(lang="en", body=embed(poll="0")))
    expect(page.locator("article.cd-comment")).to_have_count(2)
    layout = page.evaluate(
        """() => [...document.getElementById("commentd").shadowRoot
              .querySelectorAll(".cd-thread > article > .cd-body")].map(body => {
          const s = getComputedStyle(body);
          return [s.direction, parseFloat(s.paddingLeft), parseFloat(s.paddingRight)];
        })"""
    )
    (arabic_dir, arabic_left, arabic_right), (english_dir, english_left, english_right) = layout
    assert (arabic_dir, english_dir) == ("rtl", "ltr")  # each text in its own direction
    assert arabic_left == english_left > 0  # both indented on the thread's start side, the left
    assert arabic_right == english_right == 0
