"""Hostile input through the inbox, validly signed: every XSS vector of the shared corpus as
a reply's HTML and as its author's name comes out inert, and generated activities of any
shape get a clear 2xx or 4xx, never a 500 and never a half-written row."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commentd.services.fediverse.publish import Publisher
from commentd.storage.database import connection
from commentd.storage.models import Comment, RemoteNote
from tests.fediverse.conftest import BLOG
from tests.fediverse.remote import RemoteAccount
from tests.fediverse.test_inbox import URI, article, post
from tests.xss import assert_safe_html, load_vectors

VECTORS = load_vectors()


@pytest.fixture
def blog(fedi_config, make_app, serve):
    config = fedi_config(**{"comments.max_links": 100})
    client = serve(make_app(config))
    with connection():
        Publisher(config).publish(BLOG + URI, "Hello")
    return client


def test_every_xss_vector_in_a_reply_and_in_its_authors_name_is_inert(blog, remote_site):
    hostile = RemoteAccount(remote_site, "hostile")
    hostile.display_name = VECTORS[0][1]
    hostile.serve()
    for _, payload in VECTORS:
        note = hostile.note(article(blog), payload)
        status, body = post(blog, hostile, hostile.activity("Create", note))
        assert status in (202, 400, 403), body
    with connection():
        stored = [c.html for c in Comment.select().where(Comment.kind == "fediverse")]
    assert len(stored) >= 100  # the rest say nothing once sanitized: ignored; each is safe
    for html in stored + [c["html"] for c in blog.thread(URI).json["comments"]]:
        assert_safe_html(html)
    elements = Elements()
    elements.feed(blog.get("/html/thread", query={"uri": URI}).raw.decode())
    assert elements.tags, "the page has elements"
    assert not {"script", "img", "iframe", "svg", "object", "embed"} & elements.tags
    assert not [name for name in elements.attributes if name.startswith("on")]
    assert not [url for url in elements.urls if not url.startswith(("http", "#", "/", "?"))]


class Elements(HTMLParser):
    """Every element, attribute name and link of a page, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add(name)
            if name in ("href", "src", "action") and value is not None:
                self.urls.append(value.strip().lower())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def activities(target: str, actor: str):
    note = st.fixed_dictionaries(
        {},
        optional={
            "id": st.just(actor + "/statuses/x") | st.text(max_size=30) | JSON,
            "type": st.sampled_from(["Note", "Article", "Tombstone", "Person"]) | JSON,
            "attributedTo": st.just(actor) | JSON,
            "inReplyTo": st.just(target) | JSON,
            "content": st.text(max_size=200) | JSON,
            "contentMap": JSON,
            "url": JSON,
            "published": st.text(max_size=30) | JSON,
        },
    )
    kinds = st.sampled_from(
        ["Follow", "Undo", "Create", "Update", "Delete", "Like", "Announce", "Accept", "Move"]
    )
    return st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=40).map(lambda t: actor + "/a/" + t),
            "type": kinds,
            "actor": st.just(actor),
        },
        optional={"object": note | JSON | st.just(target), "to": JSON, "cc": JSON},
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_activities_get_a_clear_answer(blog, remote_site, data):
    grace = RemoteAccount(remote_site, "grace")
    activity = data.draw(activities(article(blog), grace.id))
    status, body = post(blog, grace, activity)
    assert status in (202, 400, 401, 403), (status, body, json.dumps(activity)[:500])
    if status != 202:
        assert set(body) == {"error"}
    with connection():  # every comment has its note, every note its comment
        notes = RemoteNote.select().count()
        assert Comment.select().where(Comment.kind == "fediverse").count() == notes


def test_nul_and_control_characters_never_reach_the_database(blog, remote_site):
    """PostgreSQL refuses NUL in any text: an id with one is no id, a name loses it."""
    eve = RemoteAccount(remote_site, "eve")
    eve.display_name = "Eve\x00 \x07Remote\u202e"
    eve.serve()
    bad_id = {**eve.activity("Like", article(blog)), "id": eve.id + "/likes/\x00"}
    status, body = post(blog, eve, bad_id)
    assert (status, body["error"]["code"]) == (400, "invalid_activity")
    like = eve.activity("Like", article(blog) + "\x00")
    assert post(blog, eve, like) == (202, {"status": "ignored"})
    undo = eve.activity("Undo", {"id": "x\x00", "type": "Like"})
    assert post(blog, eve, undo) == (202, {"status": "ignored"})
    note = eve.note(article(blog), "<p>Hello\x00 there</p>", summary="CW\x00")
    assert post(blog, eve, eve.activity("Create", note)) == (202, {"status": "done"})
    (comment,) = blog.thread(URI).json["comments"]
    assert comment["author"] == "Eve Remote"
    assert "\x00" not in comment["html"]
    assert "Hello" in comment["html"]
