"""Webmentions where readers see a thread: the JSON read (``type``, ``source``,
``reactions``), the HTML fragment, the feeds and the admin queue. Rows are made directly
(tests/webmentions.py), as the verification stores them."""

from __future__ import annotations

import datetime as dt
import re

import feedparser
import mf2py
import pytest

from commentd.services.comments import bump_version
from commentd.storage.database import connection
from commentd.storage.models import Status, Thread, Webmention
from tests.web.test_html import Tree
from tests.webmentions import BLOG, reaction, reply

HOSTILE_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def client(serve, make_app, make_config):
    config = make_config(**{"site.url": BLOG, "server.public_url": "https://comments.example.com"})
    return serve(make_app(config))


def fragment(client, uri="/post/"):
    res = client.get("/html/thread", query={"uri": uri})
    assert res.status == 200, res.raw
    return res.raw.decode()


# -- the JSON read ---------------------------------------------------------------------------


def test_a_reply_has_its_type_and_source_and_a_comment_has_neither(client):
    posted = client.post_comment(text="Posted here", author="Ada").json["comment"]
    assert (posted["type"], posted["source"]) == ("comment", None)
    rid = reply(source="https://other.example.org/2026/re-post")
    mid = reply(kind="mention", source="https://third.example.com/notes/1")
    comments = {c["id"]: c for c in client.thread().json["comments"]}
    assert (comments[posted["id"]]["type"], comments[posted["id"]]["source"]) == ("comment", None)
    assert comments[rid]["type"] == "reply"
    assert comments[rid]["source"] == "https://other.example.org/2026/re-post"
    assert comments[rid]["author"] == "Grace"
    assert comments[rid]["website"] == "https://grace.other.example.org/"
    assert comments[mid]["type"] == "mention"
    # the photo never leaves the server
    assert "grace.jpg" not in client.thread().raw.decode()
    one = client.get(f"/api/comments/{rid}").json["comment"]
    assert (one["type"], one["source"]) == ("reply", "https://other.example.org/2026/re-post")


def test_a_held_reply_is_not_shown(client):
    reply(status=Status.PENDING)
    assert client.thread().json["comments"] == []


def test_a_source_that_is_not_http_is_never_sent(client):
    reply(source="javascript:alert(1)")
    (comment,) = client.thread().json["comments"]
    assert comment["source"] is None


def test_reactions_count_the_verified_rows_of_the_thread_only(client):
    for n in range(3):
        reaction(kind="like", name=f"Liker {n}", url=f"https://liker{n}.example/")
    reaction(kind="repost", name="Reposter", url=None)
    reaction(kind="like", name="Queued", status="queued")
    reaction(kind="like", name="Rejected", status="rejected")
    reaction(kind="bookmark", name="Deleted", status="deleted")
    reaction("/other/", kind="like", name="Elsewhere")
    data = client.thread().json
    assert data["reactions"] == {
        "like": {
            "count": 3,
            "people": [
                {"name": "Liker 2", "url": "https://liker2.example/"},
                {"name": "Liker 1", "url": "https://liker1.example/"},
                {"name": "Liker 0", "url": "https://liker0.example/"},
            ],
        },
        "repost": {"count": 1, "people": [{"name": "Reposter", "url": None}]},
        "bookmark": {"count": 0, "people": []},
    }
    assert "tracker.example.net" not in client.thread().raw.decode()


def test_reactions_name_twenty_people_newest_first_and_count_them_all(client):
    start = dt.datetime(2026, 1, 1)
    for n in range(23):
        reaction(kind="bookmark", name=f"B{n}", published=start + dt.timedelta(hours=n))
    bookmarks = client.thread().json["reactions"]["bookmark"]
    assert bookmarks["count"] == 23
    assert [p["name"] for p in bookmarks["people"]] == [f"B{n}" for n in range(22, 2, -1)]


def test_an_unknown_thread_has_no_reactions(client):
    assert client.thread("/nothing/").json["reactions"] == {
        kind: {"count": 0, "people": []} for kind in ("like", "repost", "bookmark")
    }


def test_a_javascript_author_url_is_sent_as_null(client):
    reaction(name=HOSTILE_NAME, url="javascript:alert(1)")
    res = client.thread()
    (person,) = res.json["reactions"]["like"]["people"]
    assert person == {"name": HOSTILE_NAME, "url": None}  # plain text, as stored
    assert b"<script" not in res.raw  # and no markup in the JSON's bytes


def test_the_etag_changes_when_a_reaction_bumps_the_thread(client):
    client.post_comment(text="first")
    first = client.thread()
    tag = first.header("ETag")
    assert (
        client.get("/api/comments", query={"uri": "/post/"}, headers={"If-None-Match": tag}).status
        == 304
    )
    with connection():
        thread = Thread.get(Thread.uri == "/post/")
        Webmention.create(
            source="https://late.example/like",
            target=f"{BLOG}/post/",
            uri="/post/",
            thread=thread,
            status="verified",
            kind="like",
            author_name="Late",
        )
        bump_version(thread.id)
    again = client.get("/api/comments", query={"uri": "/post/"}, headers={"If-None-Match": tag})
    assert again.status == 200
    assert again.header("ETag") != tag
    assert again.json["reactions"]["like"]["count"] == 1


# -- the HTML fragment -----------------------------------------------------------------------


def test_the_fragment_marks_a_reply_with_its_source_as_mf2py_reads_it(client):
    rid = reply(source="https://other.example.org/2026/re-post")
    mid = reply(kind="mention", author="Hedy", source="https://third.example.com/n/1")
    html = fragment(client)
    parsed = mf2py.parse(doc=f"<div class='h-entry'>{html}</div>", url=f"{BLOG}/post/")
    first, second = parsed["items"][0]["properties"]["comment"]
    assert first["type"] == ["h-cite"]
    props = first["properties"]
    assert props["url"] == ["https://other.example.org/2026/re-post"]
    author = props["author"][0]
    assert author["type"] == ["h-card"]
    assert author["properties"]["name"] == ["Grace"]
    assert author["properties"]["url"] == ["https://grace.other.example.org/"]
    assert "photo" not in author["properties"]
    assert second["properties"]["url"] == ["https://third.example.com/n/1"]
    tree = Tree(html)
    (via,) = [a for a in tree.find("a") if "cd-via" in a.get("class", "")][:1]
    assert via["href"] == "https://other.example.org/2026/re-post"
    assert via["rel"] == "nofollow ugc noopener"
    assert ">via other.example.org</a>" in html
    assert ">mentioned this on third.example.com</a>" in html
    assert f'id="c{rid}"' in html
    assert f'id="c{mid}"' in html
    assert 'data-type="reply"' in html
    assert 'data-type="mention"' in html
    assert not tree.find("img")
    assert "grace.jpg" not in html


def test_the_fragment_shows_the_reactions_row(client):
    for name in ("Ada", "Bob", "Cy"):
        reaction(kind="like", name=name, url=f"https://{name.lower()}.example/")
    reaction(kind="repost", name="Dee", url=None)
    reaction(kind="bookmark", name="Eve")
    reaction(kind="bookmark", name="Fay")
    reaction(kind="like", name="Pending", status="queued")
    html = fragment(client)
    row = re.search(r'<ul class="cd-reactions"[^>]*>(.*?)</ul>', html, flags=re.DOTALL)
    assert row, html
    items = re.findall(r"<li[^>]*>(.*?)</li>", row[1])
    text = " · ".join(re.sub(r"<[^>]+>", "", item) for item in items)  # the stylesheet's dots
    assert text == "3 likes: Cy, Bob, Ada · 1 repost: Dee · 2 bookmarks: Fay, Eve"
    links = Tree(row[0]).find("a")
    assert [a["href"] for a in links][:3] == [
        "https://cy.example/",
        "https://bob.example/",
        "https://ada.example/",
    ]
    assert all(a["rel"] == "nofollow ugc noopener" for a in links)
    assert "tracker.example.net" not in html
    # and in German, with German plurals
    german = client.get("/html/thread", query={"uri": "/post/", "lang": "de"}).raw.decode()
    assert "3 Likes" in german
    assert "1 Repost" in german


def test_the_fragment_has_no_reactions_row_without_reactions(client):
    client.post_comment(text="just a comment")
    reaction(kind="like", status="rejected")
    assert '<ul class="cd-reactions"' not in fragment(client)


def test_hostile_names_and_sources_are_inert_in_the_fragment(client):
    reply(author=HOSTILE_NAME, website="javascript:alert(1)", source="javascript:alert(2)")
    reaction(name=HOSTILE_NAME, url="javascript:alert(3)")
    html = fragment(client)
    assert "<script" not in html
    assert "<img" not in html
    tree = Tree(html)
    hrefs = [a.get("href") for a in tree.find("a")]
    assert not [h for h in hrefs if h and h.lower().startswith("javascript")]
    assert "&lt;script&gt;" in html


# -- the feeds -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/feed/thread.atom", "/feed/recent.atom"])
def test_a_reply_in_the_feeds_links_to_its_source_and_likes_are_no_entries(client, path):
    client.post_comment(text="Posted here", author="Ada")
    rid = reply(source="https://other.example.org/2026/re-post", author="Grace")
    reply(kind="mention", author=HOSTILE_NAME, source="javascript:alert(1)")
    reaction(kind="like", name="Linus")
    reaction(kind="bookmark", name="Barbara")
    res = client.get(path, query={"uri": "/post/"} if "thread" in path else None)
    assert res.status == 200, res.raw
    parsed = feedparser.parse(res.raw)
    assert not parsed.bozo, parsed.bozo_exception
    assert len(parsed.entries) == 3  # the comment, the reply, the mention; no likes
    by_id = {entry.id.rsplit("-", 1)[1]: entry for entry in parsed.entries}
    grace = by_id[str(rid)]
    via = [link.href for link in grace.links if link.rel == "via"]
    assert via == ["https://other.example.org/2026/re-post"]
    assert grace.author_detail.name == "Grace"
    assert grace.author_detail.href == "https://grace.other.example.org/"
    names = {entry.author_detail.name for entry in parsed.entries}
    assert names == {"Ada", "Grace", HOSTILE_NAME}  # as text: escaped in the XML
    assert "Linus" not in res.raw.decode()
    assert b"javascript:" not in res.raw
    for entry in parsed.entries:
        if entry.id.endswith(str(rid)):
            continue
        assert not [link for link in entry.links if link.rel == "via"]


# -- the admin queue -------------------------------------------------------------------------


def test_the_moderation_queue_shows_where_a_webmention_came_from(signed_in):
    _, admin, _ = signed_in
    rid = reply(source="https://other.example.org/2026/re-post", status=Status.PENDING)
    bad = reply(kind="mention", source="javascript:alert(1)", status=Status.PENDING)
    res = admin.get("/admin")
    assert res.status == 200
    page = res.text
    item = page[page.index(f'id="c{rid}"') :]
    item = item[: item.index("</li>")]
    assert "webmention reply" in item
    assert (
        'via <a href="https://other.example.org/2026/re-post" rel="nofollow ugc noopener'
        ' noreferrer">https://other.example.org/2026/re-post</a>'
    ) in item
    other = page[page.index(f'id="c{bad}"') :]
    other = other[: other.index("</li>")]
    assert "via javascript:alert(1)" in other  # shown to the moderator as text, not a link
    assert 'href="javascript:' not in page
    assert "grace.jpg" not in page


def test_the_moderation_queue_marks_a_fediverse_reply(signed_in):
    _, admin, _ = signed_in
    rid = reply(kind="fediverse", source="https://mastodon.example/@ada/1", status=Status.PENDING)
    page = admin.get("/admin").text
    item = page[page.index(f'id="c{rid}"') :]
    item = item[: item.index("</li>")]
    assert "fediverse reply" in item
    assert "webmention" not in item.replace('class="badge webmention"', "")
    assert 'via <a href="https://mastodon.example/@ada/1"' in item
