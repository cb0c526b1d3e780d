"""Webmentions in the embed, read from the page's DOM: a reply marked "via <host>" linking to
its source, the likes row under the heading, no picture from any other site, and hostile
names and ``javascript:`` URLs inert. Rows are made directly (tests/webmentions.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import no_page_errors
from tests.webmentions import reaction, reply

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

SOURCE = "https://other.example.org/2026/11/re-your-post"
IMAGES = """() => [document, document.querySelector('#commentd').shadowRoot].flatMap(
    root => [...root.querySelectorAll('img, image, source, [srcset]')]).map(e =>
    e.currentSrc || e.src || e.getAttribute('href') || e.getAttribute('srcset') || '')"""
HREFS = """() => [document, document.querySelector('#commentd').shadowRoot].flatMap(
    root => [...root.querySelectorAll('a[href], area[href]')]).map(e => e.getAttribute('href'))"""


def only_own_hosts(s, context) -> None:
    """Every request the page made went to the blog or to commentd: none to another site."""
    allowed = {urlsplit(s.page_origin).netloc, urlsplit(s.api_origin).netloc}
    asked = {urlsplit(request.url).netloc for request in context.requests}
    assert asked <= allowed, asked - allowed


def test_a_reply_and_the_likes_row_as_a_reader_sees_them(site, page, context):
    s = site()
    posted = s.comment("/post/", text="A comment posted here.", author="Ada")
    rid = reply(source=SOURCE, author="Grace", html="<p>Great post, replied from my blog.</p>")
    mid = reply(kind="mention", author="Hedy", source="https://third.example.com/notes/7")
    for name in ("Linus", "Margaret", "Alan"):
        reaction(kind="like", name=name, url=f"https://{name.lower()}.example.net/")
    reaction(kind="repost", name="Barbara", url=None)
    reaction(kind="bookmark", name="Queued", status="queued")  # not counted
    page.goto(s.add_page("/post/"))
    root = page.locator("#commentd")
    expect(root.locator("article.cd-comment")).to_have_count(3)

    grace = root.locator(f"#c{rid}")
    via = grace.locator("header a.cd-via")
    expect(via).to_have_text("via other.example.org")
    expect(via).to_have_attribute("href", SOURCE)
    expect(via).to_have_attribute("rel", "nofollow ugc noopener")
    author = grace.locator("header a.cd-author")
    expect(author).to_have_text("Grace")
    expect(author).to_have_attribute("href", "https://grace.other.example.org/")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    expect(grace.locator(".cd-body")).to_have_text("Great post, replied from my blog.")
    expect(grace.locator("svg.cd-avatar")).to_have_count(1)  # commentd's own identicon
    expect(grace.locator("footer .cd-reply, footer .cd-edit, footer .cd-delete")).to_have_count(0)
    expect(root.locator(f"#c{mid} header a.cd-via")).to_have_text(
        "mentioned this on third.example.com"
    )
    # an ordinary comment has no marker and keeps its reply button
    ada = root.locator(f"#c{posted['id']}")
    expect(ada.locator(".cd-via")).to_have_count(0)
    expect(ada.locator("footer .cd-reply")).to_have_count(1)

    row = root.locator("ul.cd-reactions")
    expect(row).to_be_visible()
    expect(row.locator("li")).to_have_text(["3 likes: Alan, Margaret, Linus", "1 repost: Barbara"])
    names = row.locator("a")
    expect(names).to_have_count(3)
    expect(names.first).to_have_attribute("href", "https://alan.example.net/")
    expect(row).to_have_attribute("aria-label", "Reactions")

    assert page.evaluate(IMAGES) == []  # no <img> at all: none from another host
    only_own_hosts(s, context)
    no_page_errors(page)


def test_no_reactions_row_without_reactions(site, page):
    s = site()
    s.comment("/post/", text="Only a comment.")
    reaction(kind="like", status="rejected")
    page.goto(s.add_page("/post/"))
    expect(page.locator("#commentd article.cd-comment")).to_have_count(1)
    expect(page.locator("#commentd ul.cd-reactions")).to_be_hidden()
    no_page_errors(page)


def test_hostile_names_and_javascript_urls_stay_inert(site, page, context):
    s = site()
    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    reply(author=hostile, website="javascript:window.pwned=3", source="javascript:window.pwned=4")
    reaction(name=hostile, url="javascript:window.pwned=5")
    reaction(kind="repost", name="Ok", url="JaVaScRiPt:window.pwned=6")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(s.add_page("/post/"))
    root = page.locator("#commentd")
    expect(root.locator("article.cd-comment")).to_have_count(1)
    expect(root.locator("article .cd-author")).to_have_text(hostile)  # as plain text
    expect(root.locator("article .cd-via")).to_have_count(0)  # a javascript: source: no link
    expect(root.locator("ul.cd-reactions li").first).to_have_text(f"1 like: {hostile}")
    hrefs = page.evaluate(HREFS)
    assert not [h for h in hrefs if not h.startswith(("http://", "https://", "#"))], hrefs
    assert page.evaluate(IMAGES) == []
    assert page.evaluate("() => window.pwned") is None
    assert dialogs == []
    only_own_hosts(s, context)
    no_page_errors(page)


def test_the_embed_takes_the_reactions_over_from_the_fragment(site, page):
    s = site()
    rid = reply(source=SOURCE)
    reaction(kind="bookmark", name="Eve", url="https://eve.example/")
    fragment = s.api.get("/html/thread", query={"uri": "/post/"}).raw.decode()
    body = f'<div id="commentd" data-uri="/post/" data-poll="0">{fragment}</div>'
    page.goto(s.add_page("/post/", body=body))
    root = page.locator("#commentd")
    expect(page.locator("#commentd-thread")).to_be_hidden()
    expect(root.locator(f"article#c{rid} a.cd-via >> visible=true")).to_have_text(
        "via other.example.org"
    )
    expect(root.locator("ul.cd-reactions >> visible=true")).to_have_text("1 bookmark: Eve")
    no_page_errors(page)
