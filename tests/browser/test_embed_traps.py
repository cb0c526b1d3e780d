"""The embed against bots and with moderation: the form stamp and its timer, the honeypot (out
of sight, of the tab order and of the accessibility tree), the moderation hints, pinned
comments, and the refusals a reader can meet (blocklist, too many links, a double post), each
in the reader's language."""

from __future__ import annotations

import json
import re

import pytest

from commentd.services.audit import Actor
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status
from tests.browser.conftest import (
    AXE_JS,
    deep_focus,
    embed,
    english_count,
    no_page_errors,
    strings,
    template_pattern,
    wait_thread,
)
from tests.browser.test_embed_a11y import AXE_RUN
from tests.browser.test_embed_compose import post_in

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

HONEYPOT = 'document.getElementById("commentd").shadowRoot.querySelector({!r})'
PENDING = "Your comment is awaiting moderation"


def posted_bodies(context) -> list[dict]:
    """The JSON bodies of every new comment the browser context sent."""
    return [
        request.post_data_json
        for request in context.requests
        if request.method == "POST" and re.search(r"/api/comments\?", request.url)
    ]


def statuses() -> dict[str, Status]:
    return {c.text: c.status for c in Comment.select()}


def assert_invisible_to_others(new_context, url: str, text: str) -> None:
    other = new_context().new_page()
    other.goto(url)
    wait_thread(other, 0)
    expect(other.get_by_text(text)).to_have_count(0)
    expect(other.locator("article.cd-comment")).to_have_count(0)


# --- the form stamp -----------------------------------------------------------------------


def test_a_quick_reader_waits_posting_and_is_published_and_a_quick_bot_is_held(site, page, context):
    s = site(**{"moderation.min_submit_time": "2s"})
    url = s.add_page()
    page.goto(url)
    wait_thread(page, 0)

    # A reader who pastes "+1" the moment the page is there: the embed says "Posting…" while
    # it waits out the form's minimum time itself, and the comment is published.
    form = post_in(page, "+1")
    submit = form.locator("button.cd-submit")
    expect(submit).to_have_text("Posting…")
    expect(submit).to_be_disabled()
    assert posted_bodies(context) == []  # still waiting, nothing sent yet
    mine = page.locator("article.cd-comment", has_text="+1")
    expect(mine).to_have_count(1, timeout=10_000)
    expect(mine.locator("p.cd-pending")).to_have_count(0)
    expect(page.locator("h2.cd-title")).to_have_text(english_count(1))
    assert statuses() == {"+1": Status.APPROVED}

    # The stamp sent back is the one /api/config gave this page.
    config = s.api.get("/api/config").json
    assert re.fullmatch(r"\d+\.[\w-]+", config["form_stamp"])
    [sent] = posted_bodies(context)
    assert re.fullmatch(r"\d+\.[\w-]+", sent["form_stamp"])
    assert sent["homepage"] == ""

    # Something that sends a genuine stamp back at once is held for a moderator, not
    # discarded as spam: at worst a quick person waits for approval.
    res = s.api.post_comment("/post/", text="Sent at once", form_stamp=config["form_stamp"])
    assert res.json["comment"]["status"] == "pending"
    assert statuses()["Sent at once"] == Status.PENDING
    no_page_errors(page)


def test_edits_send_no_stamp_and_replies_do(site, page, context):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, "First version")
    article = page.locator("article.cd-comment")
    expect(article).to_have_count(1)

    article.locator("button.cd-reply").click()
    post_in(page, "A reply to myself", form=page.locator("form.cd-reply-form"))
    expect(page.locator("article.cd-comment")).to_have_count(2)

    first_id = article.first.get_attribute("data-id")
    page.locator(f"#c{first_id} > footer > button.cd-edit").click()
    edit_form = page.locator("form.cd-edit-form")
    edit_form.locator("textarea[name=text]").fill("Second version")
    with page.expect_request(lambda r: r.method == "PUT") as edited:
        edit_form.locator("button.cd-submit").click()
    expect(page.locator(f"#c{first_id} > div.cd-body")).to_have_text("Second version")

    assert edited.value.post_data_json == {"text": "Second version"}
    sent = posted_bodies(context)
    assert len(sent) == 2
    assert all(body["form_stamp"] and body["homepage"] == "" for body in sent)
    assert sent[1]["parent"] == int(first_id)
    no_page_errors(page)


# --- the honeypot -------------------------------------------------------------------------


def test_a_bot_filling_the_honeypot_is_held_as_spam(site, page, context, new_context):
    s = site()
    url = s.add_page()
    page.goto(url)
    wait_thread(page, 0)

    page.evaluate(
        HONEYPOT.format("form.cd-main input[name=homepage]") + '.value = "https://spam.example"'
    )
    post_in(page, "Buy cheap things", author="Bot")
    expect(page.locator("article.cd-comment p.cd-pending")).to_have_text(PENDING)
    [sent] = posted_bodies(context)
    assert sent["homepage"] == "https://spam.example"
    assert statuses() == {"Buy cheap things": Status.SPAM}
    assert s.api.thread("/post/").json["comments"] == []
    assert_invisible_to_others(new_context, url, "Buy cheap things")

    # After a reload the bot still sees its comment as held, like any held comment: nothing
    # tells it that it was caught. Reply forms have their own honeypot too.
    human = s.comment(text="A human comment", author="Ada")
    page.reload()
    wait_thread(page, 1, shown=2)
    expect(page.locator("article.cd-comment p.cd-pending")).to_have_text(PENDING)
    page.locator(f"#c{human['id']} button.cd-reply").click()
    expect(page.locator("form.cd-reply-form input[name=homepage]")).to_have_count(1)
    page.evaluate(HONEYPOT.format("form.cd-reply-form input[name=homepage]") + '.value = "x"')
    post_in(page, "A bot's reply", form=page.locator("form.cd-reply-form"))
    expect(page.locator(f"#c{human['id']} p.cd-pending")).to_have_text(PENDING)
    assert statuses()["A bot's reply"] == Status.SPAM
    no_page_errors(page)


def test_the_honeypot_is_out_of_sight_of_tab_and_of_the_accessibility_tree(site, page):
    s = site()
    first = s.comment(text="Something to reply to", author="Ada")
    page.goto(s.add_page())
    wait_thread(page, 1)
    page.locator(f"#c{first['id']} button.cd-reply").click()
    expect(page.locator("form.cd-reply-form")).to_be_visible()

    honeypots = page.locator("input[name=homepage]")
    expect(honeypots).to_have_count(2)
    for i in range(2):
        pot = honeypots.nth(i)
        expect(pot).to_have_attribute("tabindex", "-1")
        expect(pot).to_have_attribute("autocomplete", "off")
        expect(pot).to_have_attribute("aria-hidden", "true")
        expect(pot).to_have_attribute("type", "text")
        assert pot.evaluate("(el) => el.parentElement.getAttribute('aria-hidden')") == "true"
        box = pot.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 0, box  # above the page
        assert pot.evaluate("(el) => getComputedStyle(el.parentElement).clipPath") != "none"

    # Tab through both forms, forwards and backwards: the honeypot is never reached.
    page.locator("form.cd-main textarea[name=text]").focus()
    seen = []
    for _ in range(14):
        page.keyboard.press("Tab")
        seen.append(deep_focus(page))
    for _ in range(14):
        page.keyboard.press("Shift+Tab")
        seen.append(deep_focus(page))
    path = "\n".join(seen)
    assert ".cd-main input[name=website]" in path, seen
    assert ".cd-main button.cd-submit" in path, seen
    assert ".cd-reply-form textarea[name=text]" in path, seen
    assert "homepage" not in path, seen

    # Not in the accessibility tree: no textbox by that name, nothing in the ARIA snapshot.
    expect(page.get_by_role("textbox", name=re.compile("homepage", re.I))).to_have_count(0)
    main_form = page.locator("form.cd-composer.cd-main")
    expect(main_form.get_by_role("textbox")).to_have_count(4)  # comment, name, email, website
    assert "omepage" not in page.locator("section.cd-root").aria_snapshot()
    ax = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")
    exposed = [
        str(node.get("name", {}).get("value", ""))
        for node in ax["nodes"]
        if not node.get("ignored")
    ]
    assert any("Website" in n for n in exposed)  # the tree is there
    assert not [n for n in exposed if "omepage" in n]

    if not AXE_JS.is_file():
        pytest.skip(f"axe-core missing at {AXE_JS}: run npm ci --prefix tests/browser")
    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate(AXE_RUN)
    assert violations == [], json.dumps(violations, indent=2, ensure_ascii=False)
    no_page_errors(page)


# --- moderation hints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "key"),
    [
        ("all", "moderated"),
        ("first", "moderated_some"),
        ("links", "moderated_some"),
        ("first, links", "moderated_some"),
        ("off", None),
    ],
)
def test_moderation_hint(site, page, mode, key):
    first = site().comment(text="Published before the rules changed", author="Ada")
    s = site(**{"moderation.mode": mode})
    assert s.api.get("/api/config").json["moderation"] == [m.strip() for m in mode.split(",")]
    page.goto(s.add_page())
    wait_thread(page, 1)
    hint = page.locator("form.cd-main > p.cd-hint")
    english = {
        "moderated": "Comments are reviewed before they appear.",
        "moderated_some": "Your comment may be held for moderation before it appears.",
    }
    if key is None:
        expect(hint).to_have_count(0)
    else:
        expect(hint).to_have_text(english[key])
    page.locator(f"#c{first['id']} button.cd-reply").click()
    expect(page.locator("form.cd-reply-form > p.cd-hint")).to_have_count(0)  # once is enough

    if key is not None:  # and in the reader's language
        page.goto(s.add_page("/de/", lang="de", body=embed("/post/")))
        expect(page.locator("section.cd-root[lang=de]")).to_have_count(1)
        expect(page.locator("form.cd-main > p.cd-hint")).to_have_text(strings("de")[key])
    no_page_errors(page)


# --- pinned comments ----------------------------------------------------------------------


def pin(config, comment_id: int) -> None:
    with connection():
        ModerationService(config).pin(comment_id, True, Actor("cli"))


def test_a_pinned_comment_comes_first_with_its_badge_under_every_sort(site, page):
    s = site()
    ids = [s.comment(text=f"Comment {n}", author=f"Reader {n}")["id"] for n in range(4)]
    reply = s.comment(text="A reply to the pinned one", parent=ids[1])
    Comment.update(likes=5).where(Comment.id == ids[3]).execute()
    pin(s.config, ids[1])
    top_bodies = page.locator("section.cd-root .cd-thread > article.cd-comment > div.cd-body")
    badges = page.locator("span.cd-pinned")

    page.goto(s.add_page())
    wait_thread(page, 5)
    expected = {
        "oldest": ["Comment 1", "Comment 0", "Comment 2", "Comment 3"],
        "newest": ["Comment 1", "Comment 3", "Comment 2", "Comment 0"],
        "top": ["Comment 1", "Comment 3", "Comment 0", "Comment 2"],
    }
    for sort in ("oldest", "newest", "top"):
        page.locator("select.cd-sort").select_option(sort)
        expect(top_bodies).to_have_text(expected[sort])
        expect(badges).to_have_count(1)
        expect(page.locator(f"#c{ids[1]} > header > span.cd-pinned")).to_have_text("Pinned")
        expect(page.locator(f"#c{reply['id']} span.cd-pinned")).to_have_count(0)

    # Opened with a sort, too; a new comment goes under the pinned one, even newest first.
    for sort in ("newest", "top"):
        page.goto(s.add_page(f"/{sort}/", body=embed("/post/", sort=sort)))
        wait_thread(page, 5)
        expect(top_bodies).to_have_text(expected[sort])
        expect(page.locator(f"#c{ids[1]} span.cd-pinned")).to_have_text("Pinned")
    post_in(page, "Comment 4")
    expect(top_bodies).to_have_count(5)
    page.goto(s.add_page("/newest/", body=embed("/post/", sort="newest")))
    wait_thread(page, 6)
    post_in(page, "Comment 5")
    expect(top_bodies.nth(0)).to_have_text("Comment 1")
    expect(top_bodies.nth(1)).to_have_text("Comment 5")

    # In the reader's language, and as text: a string with markup is not parsed.
    page.goto(s.add_page("/de/", lang="de", body=embed("/post/")))
    expect(page.locator(f"#c{ids[1]} span.cd-pinned")).to_have_text(strings("de")["pinned"])
    markup = "<img src=x onerror=alert(1)>"
    script = f"<script>window.commentd = {{strings: {{pinned: {json.dumps(markup)}}}}};</script>"
    page.goto(s.add_page("/markup/", body=embed("/post/"), scripts=script + s.script()))
    expect(page.locator(f"#c{ids[1]} span.cd-pinned")).to_have_text(markup)
    expect(page.locator("section.cd-root header img")).to_have_count(0)
    no_page_errors(page)


# --- refusals, localized ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_blocklisted_word_is_refused_in_the_readers_language(site, page, lang):
    s = site(**{"moderation.blocked_words": "casino"})
    page.goto(s.add_page(lang=lang))
    expect(page.locator(f"section.cd-root[lang={lang}]")).to_have_count(1)
    expect(page.locator("form.cd-composer.cd-main")).to_be_visible()

    form = post_in(page, "Best Casino bonus here")
    message = (
        "This comment cannot be accepted here." if lang == "en" else strings(lang)["error_blocked"]
    )
    expect(form.locator("div.cd-error[role=alert]")).to_have_text(template_pattern(message))
    expect(form.locator("textarea[name=text]")).to_have_value("Best Casino bonus here")
    expect(form.locator("button.cd-submit")).to_be_enabled()
    expect(page.locator("article.cd-comment")).to_have_count(0)
    assert Comment.select().count() == 0
    assert s.api.thread("/post/").json["comments"] == []

    # An author name counts too; a clean comment still goes through.
    post_in(page, "Nice post", author="casino king")
    expect(form.locator("div.cd-error[role=alert]")).to_have_text(template_pattern(message))
    post_in(page, "Nice post", author="Ada")
    expect(page.locator("article.cd-comment")).to_have_count(1)
    expect(form.locator("div.cd-error")).to_have_text("")
    assert Comment.select().count() == 1
    no_page_errors(page)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_too_many_links_and_a_double_post_are_explained(site, page, lang):
    s = site(**{"comments.max_links": 1})
    page.goto(s.add_page(lang=lang))
    expect(page.locator(f"section.cd-root[lang={lang}]")).to_have_count(1)
    words = (
        {
            "error_too_many_links": "This comment has too many links. Please remove some.",
            "error_duplicate_comment": "You already posted this comment here.",
        }
        if lang == "en"
        else strings(lang)
    )

    form = post_in(page, "See https://one.example and https://two.example")
    expect(form.locator("div.cd-error")).to_have_text(
        template_pattern(words["error_too_many_links"])
    )
    expect(form.locator("textarea[name=text]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("article.cd-comment")).to_have_count(0)

    post_in(page, "Only one link: https://one.example")
    expect(page.locator("article.cd-comment")).to_have_count(1)
    post_in(page, "Only one link: https://one.example")
    expect(form.locator("div.cd-error")).to_have_text(
        template_pattern(words["error_duplicate_comment"])
    )
    expect(page.locator("article.cd-comment")).to_have_count(1)
    assert Comment.select().count() == 1
    no_page_errors(page)
