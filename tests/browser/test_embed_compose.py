"""Writing in the embed, as a reader does it in a real browser: post, reply, nested reply,
preview, edit, delete, keyboard-only posting, errors shown inline, and moderation."""

from __future__ import annotations

import re

import pytest

from commentd.storage.models import Thread
from tests.browser.conftest import (
    deep_focus,
    embed,
    english_count,
    local_json,
    no_page_errors,
    strings,
    template_pattern,
    wait_thread,
)

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

ZERO = re.compile(r"^\s*0?\s*$")


def post_in(page, text: str, form=None, **fields: str):
    """Fill a composer (the main one by default) and click its submit button."""
    form = form or page.locator("form.cd-composer.cd-main")
    form.locator("textarea[name=text]").fill(text)
    for name, value in fields.items():
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button.cd-submit").click()
    return form


def test_post_shows_the_comment_and_remembers_the_author(site, page):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)

    form = post_in(
        page, "Hello from a *real* browser", author="Ada", email="ada@example.com", website=""
    )

    article = page.locator("article.cd-comment")
    expect(article).to_have_count(1)
    expect(article.locator(".cd-author")).to_have_text("Ada")
    expect(article.locator("div.cd-body em")).to_have_text("real")
    expect(article.locator("div.cd-body")).to_have_text("Hello from a real browser")
    expect(article).to_have_attribute("data-depth", "1")
    expect(article.locator("time.cd-time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d\d-\d\dT")
    )
    expect(page.locator("h2.cd-title")).to_have_text(english_count(1))
    expect(page.locator("div.cd-live[aria-live=polite]")).to_have_text("Comment posted")
    expect(form.locator("textarea[name=text]")).to_have_value("")
    expect(form.locator("button.cd-submit")).to_be_enabled()

    stored = s.api.thread("/post/").json["comments"]
    assert [(c["author"], c["html"]) for c in stored] == [
        ("Ada", "<p>Hello from a <em>real</em> browser</p>\n")
    ]
    comment_id = stored[0]["id"]
    expect(article).to_have_attribute("id", f"c{comment_id}")
    expect(article).to_have_attribute("data-id", str(comment_id))
    expect(article.locator("a.cd-permalink")).to_have_attribute("href", f"#c{comment_id}")
    assert str(comment_id) in local_json(page, "commentd:tokens")
    assert "Ada" in page.evaluate("localStorage.getItem('commentd:identity')")

    # An expired token is pruned on the next load; the live one stays.
    page.evaluate(
        """() => {
            const tokens = JSON.parse(localStorage.getItem("commentd:tokens"));
            tokens["999999"] = "999999.1000000000.c2lnbmF0dXJl";
            localStorage.setItem("commentd:tokens", JSON.stringify(tokens));
        }"""
    )
    page.reload()
    wait_thread(page, 1)
    assert set(local_json(page, "commentd:tokens")) == {str(comment_id)}
    main = page.locator("form.cd-composer.cd-main")
    expect(main.locator("input[name=author]")).to_have_value("Ada")
    expect(main.locator("input[name=email]")).to_have_value("ada@example.com")
    # Still the author after a reload: the token kept in localStorage brings the edit buttons.
    expect(page.locator(f"#c{comment_id} button.cd-edit")).to_be_visible()
    no_page_errors(page)


def test_submit_is_disabled_while_posting_and_posts_once(site, page):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)
    held = []
    page.route(
        re.compile(r"/api/comments\?"),
        lambda route: held.append(route) if route.request.method == "POST" else route.fallback(),
    )
    form = post_in(page, "Once only", author="Ada")
    submit = form.locator("button.cd-submit")
    expect(submit).to_be_disabled()
    expect(submit).to_have_text("Posting…")
    form.locator("input[name=author]").press("Enter")  # implicit submission: blocked
    assert len(held) == 1
    held[0].continue_()

    expect(page.locator("article.cd-comment")).to_have_count(1)
    expect(submit).to_be_enabled()
    expect(submit).to_have_text("Post comment")
    assert len(held) == 1  # a second POST would have been sent (and held) long before now
    assert s.api.thread("/post/").json["thread"]["total"] == 1
    no_page_errors(page)


def test_reply_and_nested_reply(site, page):
    s = site()
    top = s.comment(text="Top-level comment", author="Bob")
    page.goto(s.add_page())
    wait_thread(page, 1)

    parent = page.locator(f"#c{top['id']}")
    parent.locator("button.cd-reply").first.click()
    form = parent.locator("form.cd-composer.cd-reply-form")
    expect(form).to_be_visible()
    expect(form.locator("textarea[name=text]")).to_be_focused()
    post_in(page, "A reply", form=form, author="Cy")

    reply = parent.locator("div.cd-replies article.cd-comment")
    expect(reply).to_have_count(1)
    expect(reply).to_have_attribute("data-depth", "2")
    expect(reply.locator("div.cd-body")).to_have_text("A reply")
    expect(parent.locator("form.cd-reply-form")).to_have_count(0)
    reply_id = int(reply.get_attribute("data-id"))

    reply.locator("button.cd-reply").first.click()
    nested_form = reply.locator("form.cd-composer.cd-reply-form")
    post_in(page, "A reply to the reply", form=nested_form)

    nested = page.locator(f"#c{top['id']} #c{reply_id} div.cd-replies article.cd-comment")
    expect(nested).to_have_count(1)
    expect(nested).to_have_attribute("data-depth", "3")
    expect(nested.locator("div.cd-body")).to_have_text("A reply to the reply")
    expect(page.locator("h2.cd-title")).to_have_text(english_count(3))

    tree = s.api.thread("/post/").json["comments"]
    assert tree[0]["id"] == top["id"]
    assert tree[0]["replies"][0]["id"] == reply_id
    assert tree[0]["replies"][0]["replies"][0]["html"] == "<p>A reply to the reply</p>\n"
    no_page_errors(page)


LAYOUT = """() => [...document.getElementById("commentd").shadowRoot
    .querySelectorAll("article.cd-comment")]
    .map((a) => [a.id, a.dataset.depth, a.parentElement.closest("article")?.id ?? null])"""


def test_reply_beyond_max_depth_is_placed_as_the_server_places_it(site, page):
    s = site(**{"comments.max_depth": 2})
    top = s.comment(text="Level 1")
    middle = s.comment(text="Level 2", parent=top["id"])
    page.goto(s.add_page())
    wait_thread(page, 2)

    article = page.locator(f"#c{middle['id']}")
    article.locator("button.cd-reply").click()
    post_in(page, "Level 3", form=article.locator("form.cd-reply-form"))
    expect(page.locator("article.cd-comment")).to_have_count(3)
    replies = s.api.thread("/post/").json["comments"][0]["replies"]
    deep_id = next(c["id"] for c in replies if c["html"] == "<p>Level 3</p>\n")
    deep = page.locator(f"#c{deep_id}")
    expect(deep).to_have_attribute("data-depth", "2")
    expect(deep.locator("div.cd-body")).to_have_text("Level 3")
    shown = page.evaluate(LAYOUT)

    page.reload()  # what the server sends must match what the embed showed
    wait_thread(page, 3)
    assert page.evaluate(LAYOUT) == shown
    assert [f"c{deep_id}", "2", f"c{top['id']}"] in shown
    no_page_errors(page)


def test_preview_shows_rendered_markdown(site, page):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)

    form = page.locator("form.cd-composer.cd-main")
    textarea = form.locator("textarea[name=text]")
    textarea.fill("**bold** and `code` and <b>raw</b>")
    with page.expect_response(lambda res: res.url.endswith("/api/preview")):
        form.locator("button.cd-preview").click()

    output = form.locator("div.cd-preview-output")
    expect(output).to_be_visible()
    expect(output.locator("strong")).to_have_text("bold")
    expect(output.locator("code")).to_have_text("code")
    expect(output).to_contain_text("<b>raw</b>")  # raw HTML is escaped, shown as text
    expect(output.locator("b")).to_have_count(0)

    form.locator("button.cd-preview").click()  # back to writing
    expect(output).to_be_hidden()
    expect(textarea).to_be_visible()
    expect(textarea).to_have_value("**bold** and `code` and <b>raw</b>")
    assert s.api.thread("/post/").json["thread"]["total"] == 0
    no_page_errors(page)


def test_edit_prefills_the_markdown_and_shows_the_new_text(site, page):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, "Original *text*")
    article = page.locator("article.cd-comment")
    expect(article).to_have_count(1)
    expect(article.locator("span.cd-remaining")).to_have_text(re.compile(r"\b1[45]\b"))

    article.locator("button.cd-edit").click()
    edit = article.locator("form.cd-edit-form")
    expect(edit.locator("textarea[name=text]")).to_have_value("Original *text*")
    edit.locator("button.cd-cancel").click()
    expect(edit).to_have_count(0)
    expect(article.locator("div.cd-body")).to_have_text("Original text")

    article.locator("button.cd-edit").click()
    edit = article.locator("form.cd-edit-form")
    expect(edit.locator("textarea[name=text]")).to_have_value("Original *text*")
    edit.locator("textarea[name=text]").fill("Edited **text**")
    edit.locator("button[type=submit]").click()

    expect(edit).to_have_count(0)
    expect(article.locator("div.cd-body strong")).to_have_text("text")
    expect(article.locator("div.cd-body")).to_have_text("Edited text")
    stored = s.api.thread("/post/").json["comments"][0]
    assert stored["html"] == "<p>Edited <strong>text</strong></p>\n"
    assert stored["modified"] is not None

    page.reload()
    wait_thread(page, 1)
    expect(page.locator("article.cd-comment div.cd-body")).to_have_text("Edited text")
    no_page_errors(page)


def test_delete_leaves_a_placeholder_or_removes_the_comment(site, page):
    s = site()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(s.add_page())
    wait_thread(page, 0)
    post_in(page, "Mine, with a reply")
    expect(page.locator("article.cd-comment")).to_have_count(1)
    post_in(page, "Mine, alone")
    expect(page.locator("article.cd-comment")).to_have_count(2)
    with_reply, alone = (c["id"] for c in s.api.thread("/post/").json["comments"])
    s.comment(text="Someone's reply", parent=with_reply)

    page.reload()
    wait_thread(page, 3)
    page.locator(f"#c{with_reply} button.cd-delete").first.click()
    placeholder = page.locator(f"#c{with_reply}")
    expect(placeholder).to_have_class(re.compile(r"\bcd-deleted\b"))
    expect(placeholder).to_contain_text("Deleted comment")
    expect(placeholder).not_to_contain_text("Mine, with a reply")
    expect(placeholder.locator("div.cd-replies article.cd-comment")).to_have_count(1)
    expect(page.get_by_text("Someone's reply")).to_be_visible()

    page.locator(f"#c{alone} button.cd-delete").click()
    expect(page.locator(f"#c{alone}")).to_have_count(0)
    expect(page.locator("h2.cd-title")).to_have_text(english_count(1))

    statuses = {c["id"]: c["status"] for c in s.api.thread("/post/").json["comments"]}
    assert statuses == {with_reply: "deleted"}
    no_page_errors(page)


def test_keyboard_only_posting(site, page):
    s = site()
    page.goto(s.add_page())
    wait_thread(page, 0)

    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(deep_focus(page))
        if seen[-1] == ".cd-composer.cd-main textarea[name=text]":
            break
    else:
        raise AssertionError(f"Tab never reached the comment box; focus went: {seen}")
    page.keyboard.type("Typed without a mouse")

    for _ in range(20):
        page.keyboard.press("Tab")
        seen.append(deep_focus(page))
        if re.fullmatch(r"\.cd-composer\.cd-main button.*\.cd-submit.*", seen[-1]):
            break
    else:
        raise AssertionError(f"Tab never reached the submit button; focus went: {seen}")
    page.keyboard.press("Enter")

    expect(page.locator("article.cd-comment div.cd-body")).to_have_text("Typed without a mouse")
    assert s.api.thread("/post/").json["thread"]["total"] == 1
    no_page_errors(page)


def test_too_long_text_shows_a_localized_error(site, page):
    s = site(**{"comments.max_length": 20})
    de = strings("de")
    page.goto(s.add_page(body=embed(lang="de")))
    expect(page.locator("section.cd-root")).to_have_attribute("lang", "de")
    expect(page.locator("form.cd-composer.cd-main")).to_be_visible()

    form = page.locator("form.cd-composer.cd-main")
    textarea = form.locator("textarea[name=text]")
    error = form.locator("div.cd-error[role=alert]")
    expect(error).to_have_text(ZERO)  # empty before anything went wrong
    # Set the value as a paste would, whether or not the textarea has a maxlength.
    textarea.evaluate(
        """(el, text) => {
            el.value = text;
            el.dispatchEvent(new Event("input", {bubbles: true}));
        }""",
        "x" * 30,
    )
    form.locator("button.cd-submit").click()

    expect(error).to_have_text(template_pattern(de["error_too_long"]))
    expect(textarea).to_have_attribute("aria-invalid", "true")
    assert s.api.thread("/post/").json["thread"]["total"] == 0

    post_in(page, "Short enough")
    expect(page.locator("article.cd-comment")).to_have_count(1)
    expect(error).to_have_text(ZERO)
    expect(textarea).not_to_have_attribute("aria-invalid", "true")
    no_page_errors(page)


def test_locked_thread_shows_thread_locked(site, page):
    s = site()
    de = strings("de")
    s.comment(text="The first comment")
    page.goto(s.add_page(body=embed(lang="de")))
    expect(page.locator("article.cd-comment")).to_have_count(1)
    expect(page.locator("form.cd-composer.cd-main")).to_be_visible()

    Thread.update(locked=True).execute()  # locked after the page loaded
    form = post_in(page, "Too late")

    expect(form.locator("div.cd-error[role=alert]")).to_have_text(
        template_pattern(de["error_thread_locked"])
    )
    expect(page.locator("article.cd-comment")).to_have_count(1)
    assert s.api.thread("/post/").json["thread"]["total"] == 1
    no_page_errors(page)


def test_moderation_shows_pending_to_the_author_only(site, page, new_context):
    s = site(**{"moderation.mode": "all"})
    url = s.add_page()
    page.goto(url)
    wait_thread(page, 0)

    post_in(page, "Awaiting approval")
    expect(page.locator("p.cd-pending")).to_have_text("Your comment is awaiting moderation")
    expect(page.locator("article.cd-comment")).to_have_count(1)
    expect(page.locator("article.cd-comment div.cd-body")).to_have_text("Awaiting approval")
    expect(page.locator("p.cd-pending")).to_have_count(1)
    public = s.api.thread("/post/").json
    assert public["thread"]["total"] == 0
    assert public["comments"] == []

    page.reload()  # kept in localStorage: still shown to its author
    wait_thread(page, 0, shown=1)
    expect(page.locator("p.cd-pending")).to_be_visible()
    expect(page.locator("article.cd-comment div.cd-body")).to_have_text("Awaiting approval")

    other = new_context().new_page()
    other.goto(url)
    wait_thread(other, 0)
    expect(other.get_by_text("Awaiting approval")).to_have_count(0)
    expect(other.locator("p.cd-pending")).to_have_count(0)
    no_page_errors(page)
