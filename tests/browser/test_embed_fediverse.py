"""A Fediverse reply and Fediverse likes in the embed, read from the page's DOM: the reply is
marked "via <instance>" linking to the post it came from, has no Reply, Edit or Delete (it is
answered there), loads no picture from the instance; a Like counts in the reactions row."""

from __future__ import annotations

import pytest

from commentd.storage.database import connection
from commentd.storage.models import Reaction, RemoteActor, Thread
from tests.browser.conftest import no_page_errors
from tests.browser.test_embed_webmention import IMAGES, only_own_hosts
from tests.webmentions import reply

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

NOTE = "https://mastodon.example/@grace/113"


def test_a_fediverse_reply_and_like_as_a_reader_sees_them(site, page, context):
    s = site()
    rid = reply(
        kind="fediverse",
        source=NOTE,
        author="Grace Remote",
        website="https://mastodon.example/@grace",
        photo="https://mastodon.example/avatars/grace.png",
        html="<p>Replied from Mastodon.</p>",
    )
    with connection():
        linus = RemoteActor.create(
            uri="https://social.example/users/linus",
            key_id="https://social.example/users/linus#main-key",
            public_key="-",
            inbox="https://social.example/users/linus/inbox",
            name="Linus Remote",
            url="https://social.example/@linus",
        )
        Reaction.create(
            activity="https://social.example/likes/1",
            thread=Thread.get(Thread.uri == "/post/"),
            actor=linus,
            kind="like",
        )
    page.goto(s.add_page("/post/"))
    root = page.locator("#commentd")
    grace = root.locator(f"#c{rid}")
    via = grace.locator("header a.cd-via")
    expect(via).to_have_text("via mastodon.example")
    expect(via).to_have_attribute("href", NOTE)
    expect(grace.locator("header a.cd-author")).to_have_text("Grace Remote")
    expect(grace.locator(".cd-body")).to_have_text("Replied from Mastodon.")
    expect(grace.locator("footer .cd-reply, footer .cd-edit, footer .cd-delete")).to_have_count(0)
    row = root.locator("ul.cd-reactions")
    expect(row.locator("li")).to_have_text(["1 like: Linus Remote"])
    expect(row.locator("a")).to_have_attribute("href", "https://social.example/@linus")
    assert page.evaluate(IMAGES) == []
    only_own_hosts(s, context)
    no_page_errors(page)
