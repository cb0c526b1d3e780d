"""A Fediverse reply and Fediverse likes in the embed, read from the page's DOM: the reply is
marked "via <instance>" linking to the post it came from, has no Reply, Edit or Delete (it is
answered there), shows its author's avatar as commentd keeps it (from commentd's origin,
never the instance's); a Like counts in the reactions row."""

from __future__ import annotations

import pytest

from commentd.services.avatars import digest_of
from commentd.services.comments import bump_version
from commentd.storage.database import connection
from commentd.storage.models import Avatar, Comment, Reaction, RemoteActor, Thread
from tests.browser.conftest import no_page_errors
from tests.browser.test_embed_webmention import IMAGES, only_own_hosts
from tests.fediverse.test_avatars import png
from tests.webmentions import reply

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

NOTE = "https://mastodon.example/@grace/113"


def test_a_fediverse_reply_and_like_as_a_reader_sees_them(site, page, context, live_server):
    s = site(**{"server.public_url": f"http://127.0.0.1:{live_server[1]}"})  # pictures' URLs
    rid = reply(
        kind="fediverse",
        source=NOTE,
        author="Grace Remote",
        website="https://mastodon.example/@grace",
        photo="https://mastodon.example/avatars/grace.png",  # kept below, as the worker does
        html="<p>Replied from Mastodon.</p>",
    )
    photo = "https://mastodon.example/avatars/grace.png"
    with connection():
        Avatar.create(
            digest=digest_of(photo), url=photo, status="ok", content_type="image/png", data=png()
        )
        Comment.update(picture=digest_of(photo)).where(Comment.id == rid).execute()
        bump_version(Comment.get_by_id(rid).thread_id)
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
    picture = grace.locator("img.cd-avatar")
    expect(picture).to_have_attribute("src", f"{s.api_origin}/avatars/{digest_of(photo)}")
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 2  # it loaded
    assert page.evaluate(IMAGES) == [f"{s.api_origin}/avatars/{digest_of(photo)}"]
    only_own_hosts(s, context)
    no_page_errors(page)
