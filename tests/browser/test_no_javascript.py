"""With JavaScript off in Chromium, commentd's demo page still shows its thread, and a reader
can post a comment through the plain form and land on it."""

from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


@pytest.fixture
def demo(make_config, make_app, serve, live_server):
    """commentd with zero configuration but for the address it is reached at in the test."""
    _, port = live_server
    origin = f"http://127.0.0.1:{port}"
    config = make_config(**{"server.public_url": origin, "server.allowed_origins": ""})
    return serve(make_app(config)), origin


def test_the_demo_shows_its_comments_and_takes_one_without_javascript(demo, new_context):
    api, origin = demo
    first = api.post_comment("/demo/", text="Shown *without* JavaScript", author="Ada")
    api.post_comment("/demo/", text="A reply", author="Bob", parent=first.json["comment"]["id"])
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(origin + "/")
    thread = page.locator("#commentd-thread")
    expect(thread.locator("article.cd-comment")).to_have_count(2)
    expect(thread.locator("article.cd-comment em")).to_have_text("without")
    expect(thread.locator("article article .p-author")).to_have_text("Bob")
    expect(page.locator("#commentd-heading")).to_have_text("Comments (2)")

    form = thread.locator("form.cd-form")
    form.get_by_label("Your comment (Markdown)").fill("Posted with **no** script at all")
    form.get_by_label("Name").fill("Cleo")
    form.get_by_role("button", name="Post comment").click()
    page.wait_for_url(f"{origin}/#c*")
    new_id = page.url.rsplit("#c", 1)[1]
    posted = page.locator(f"#c{new_id}")
    expect(posted.locator("strong")).to_have_text("no")
    expect(posted.locator(".p-author")).to_have_text("Cleo")
    expect(page.locator("#commentd-heading")).to_have_text("Comments (3)")


def test_a_refused_post_keeps_what_was_typed(demo, new_context):
    _, origin = demo
    page = new_context(java_script_enabled=False).new_page()
    page.goto(origin + "/")
    form = page.locator("form.cd-form")
    form.get_by_label("Your comment (Markdown)").fill("   ")
    form.get_by_label("Name").fill("Dora")
    form.get_by_label("Website").fill("https://dora.example")
    form.get_by_role("button", name="Post comment").click()
    expect(page.locator("h1")).to_have_text("Please fill in this field.")
    expect(page.locator("input[name=author]")).to_have_value("Dora")
    expect(page.locator("input[name=website]")).to_have_value("https://dora.example")


def test_with_javascript_the_embed_draws_the_same_thread(demo, new_context):
    api, origin = demo
    api.post_comment("/demo/", text="Both ways", author="Ada")
    page = new_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(origin + "/")
    # the embed's shadow root is drawn instead of the fragment, which stays in the light DOM
    shown = page.locator("#commentd article.cd-comment >> visible=true")
    expect(shown).to_have_count(1)
    expect(shown.locator(".cd-body")).to_have_text("Both ways")
    assert not errors
