"""Verifying Webmentions in the outbox worker (services/webmention_verify.py), against real
pages on loopback: h-entries become replies, mentions, likes, reposts and bookmarks; a
changed source updates its comment, a gone one removes it; screening, bans and the fetcher's
fences apply."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack

import pytest

from commentd.services import bans, fetch, outbox
from commentd.services.audit import SYSTEM
from commentd.services.site import open_site
from commentd.services.webmention import Receiver
from commentd.storage.database import connection
from commentd.storage.models import Comment, OutboxMessage, Status, Thread, Webmention
from tests.pages import Answer, serving
from tests.xss import assert_safe_html, load_vectors

SITE = "https://blog.example.com"
TARGET = f"{SITE}/2024/post/"


def reply_page(target: str = TARGET, text: str = "Great post, <em>really</em>.") -> str:
    """A reply as the spec's and microformats.org's examples write one."""
    return f"""<!doctype html><html><head><title>Re: your post</title></head><body>
<article class="h-entry">
  <div class="p-author h-card">
    <img class="u-photo" src="/me.jpg" alt=""><a class="p-name u-url" href="/">Alice Example</a>
  </div>
  <p>In reply to <a class="u-in-reply-to" href="{target}">a post</a></p>
  <div class="e-content">{text}</div>
  <time class="dt-published" datetime="2024-03-01T10:00:00+01:00">1 March</time>
</article></body></html>"""


def entry_page(prop: str, target: str = TARGET) -> str:
    return f"""<html><body><div class="h-entry">
<a class="p-author h-card" href="https://bob.example/">Bob</a>
<a class="u-{prop}" href="{target}">this post</a></div></body></html>"""


@pytest.fixture
def wm(make_config, monkeypatch):
    """(config, send(source, target=TARGET) -> row after the worker ran, run())."""
    monkeypatch.setattr("commentd.services.screening.BANS_TTL", 0)
    overrides = {"site.url": SITE, "webmention.allow_private_addresses": True}

    stack = ExitStack()

    def build(**more):
        config = make_config(**overrides, **more)
        site = open_site(config)
        stack.enter_context(connection())
        receiver = Receiver(config, site.keys.webmention_status)
        worker = outbox.Worker(config)

        def send(source: str, target: str = TARGET) -> Webmention:
            row = receiver.receive(source, target)
            worker.run_once()
            return Webmention.get_by_id(row.id)

        return config, send, worker

    with stack:
        yield build


@pytest.fixture
def other():
    with serving() as site:
        yield site


def comments() -> list[Comment]:
    return list(Comment.select().order_by(Comment.id))


def test_a_reply_becomes_a_comment_with_its_author_photo_and_date(wm, other):
    _, send, _ = wm()
    other.pages["/reply"] = Answer(reply_page())
    row = send(other.url("/reply"))
    assert (row.status, row.kind, row.error) == ("verified", "reply", None)
    assert (row.author_name, row.author_url) == ("Alice Example", other.url("/"))
    assert row.author_photo == other.url("/me.jpg")
    assert row.published == dt.datetime(2024, 3, 1, 9, 0)
    assert row.verified is not None
    (comment,) = comments()
    assert row.comment_id == comment.id
    assert row.thread_id == comment.thread_id
    assert Thread.get_by_id(comment.thread_id).uri == "/2024/post/"
    assert (comment.kind, comment.source, comment.status) == (
        "reply",
        other.url("/reply"),
        Status.APPROVED,
    )
    assert (comment.author, comment.website, comment.photo) == (
        "Alice Example",
        other.url("/"),
        other.url("/me.jpg"),
    )
    assert comment.html == "Great post, <em>really</em>."
    assert comment.text == "Great post, really."
    assert comment.created == dt.datetime(2024, 3, 1, 9, 0)
    assert OutboxMessage.get().status == "sent"


@pytest.mark.parametrize(
    ("prop", "kind"), [("like-of", "like"), ("repost-of", "repost"), ("bookmark-of", "bookmark")]
)
def test_likes_reposts_and_bookmarks_are_the_row_alone(wm, other, prop, kind):
    _, send, _ = wm()
    other.pages["/e"] = Answer(entry_page(prop))
    row = send(other.url("/e"))
    assert (row.status, row.kind, row.author_name, row.author_url) == (
        "verified",
        kind,
        "Bob",
        "https://bob.example/",
    )
    assert row.comment_id is None
    assert row.thread_id is not None
    assert comments() == []


def test_a_page_that_only_links_is_a_mention_named_after_its_host(wm, other):
    _, send, _ = wm()
    other.pages["/m"] = Answer(
        f'<html><head><title>Links</title></head><p>See <a href="{TARGET}#x">this</a>.</p>'
    )
    row = send(other.url("/m"))
    assert (row.status, row.kind, row.author_name) == ("verified", "mention", "127.0.0.1")
    (comment,) = comments()
    assert (comment.kind, comment.text) == ("mention", "Links")


@pytest.mark.parametrize(
    "body",
    [
        "<p>No link here.</p>",
        '<a href="https://blog.example.com/2024/other/">elsewhere</a>',
        '<a href="https://blog.example.com/2024/post/extra">a longer URL</a>',
    ],
)
def test_a_source_without_a_link_to_the_target_is_rejected(wm, other, body):
    _, send, _ = wm()
    other.pages["/n"] = Answer(body)
    row = send(other.url("/n"))
    assert (row.status, row.error) == ("rejected", "The source does not link to the target.")
    assert comments() == []


def test_links_are_resolved_against_the_page_and_text_sources_are_searched(wm, other):
    _, send, _ = wm()
    other.pages["/img"] = Answer(
        '<base href="https://blog.example.com/2024/"><img src="post/" alt="">'
    )
    assert send(other.url("/img")).status == "verified"
    other.pages["/j"] = Answer(
        f'{{"links": ["{TARGET}"]}}', headers={"Content-Type": "application/json"}
    )
    assert send(other.url("/j")).status == "verified"


def test_a_changed_source_updates_its_one_comment(wm, other):
    _, send, _ = wm()
    other.pages["/reply"] = Answer(reply_page(text="First words."))
    send(other.url("/reply"))
    other.pages["/reply"] = Answer(reply_page(text="Second thoughts."))
    row = send(other.url("/reply"))
    (comment,) = comments()
    assert row.comment_id == comment.id
    assert (comment.text, comment.html) == ("Second thoughts.", "Second thoughts.")
    assert comment.modified is not None


@pytest.mark.parametrize("removal", ["410", "link removed"])
def test_a_gone_source_removes_its_comment(wm, other, removal):
    _, send, _ = wm()
    other.pages["/reply"] = Answer(reply_page())
    first = send(other.url("/reply"))
    thread = Thread.get_by_id(first.thread_id)
    if removal == "410":
        other.pages["/reply"] = Answer("gone", 410)
    else:
        other.pages["/reply"] = Answer("<p>I took that back.</p>")
    row = send(other.url("/reply"))
    assert row.status == "deleted"
    (comment,) = comments()
    assert (comment.status, comment.text, comment.author) == (Status.DELETED, "", None)
    assert Thread.get_by_id(thread.id).version > thread.version


def test_a_never_verified_source_that_is_gone_is_rejected(wm, other):
    _, send, _ = wm()
    other.pages["/g"] = Answer("gone", 410)
    row = send(other.url("/g"))
    assert (row.status, row.error) == ("rejected", "The source answered 410.")


VECTORS = dict(load_vectors())
XSS = [
    "patt-IntrudersXSS-1",
    *[vid for vid, payload in VECTORS.items() if "onerror" in payload.lower()][:3],
    *[vid for vid, payload in VECTORS.items() if "javascript:" in payload.lower()][:3],
]


@pytest.mark.parametrize("vector", XSS)
def test_hostile_e_content_is_sanitized(wm, other, vector):
    _, send, _ = wm()
    other.pages["/x"] = Answer(reply_page(text=VECTORS[vector]))
    row = send(other.url("/x"))
    assert row.status == "verified"
    assert_safe_html(Comment.get_by_id(row.comment_id).html)


def test_long_content_is_cut_with_an_ellipsis(wm, other):
    _, send, _ = wm(**{"comments.max_length": 100})
    other.pages["/long"] = Answer(reply_page(text="<p>" + "word " * 100 + "</p>"))
    comment = Comment.get_by_id(send(other.url("/long")).comment_id)
    assert len(comment.text) <= 100
    assert comment.text.endswith("…")
    assert comment.html.startswith("<p>word word")
    assert comment.html.endswith("…</p>\n")


def test_first_time_moderation_is_by_the_sources_domain(wm, other, make_app):
    config, send, _ = wm(**{"moderation.mode": "first"})
    other.pages["/a"] = Answer(reply_page())
    other.pages["/b"] = Answer(reply_page(text="Again."))
    first = Comment.get_by_id(send(other.url("/a")).comment_id)
    assert first.status == Status.PENDING
    with serving("127.0.0.2") as third:
        third.pages["/c"] = Answer(reply_page())
        held = Comment.get_by_id(send(third.url("/c")).comment_id)
        assert held.status == Status.PENDING  # approving one domain says nothing of another
        open_site(config).moderation().approve([first.id], SYSTEM)
        assert Comment.get_by_id(send(other.url("/b")).comment_id).status == Status.APPROVED
        third.pages["/d"] = Answer(reply_page(text="Me too."))
        assert Comment.get_by_id(send(third.url("/d")).comment_id).status == Status.PENDING


@pytest.mark.parametrize(("action", "status"), [("reject", "rejected"), ("hold", "verified")])
def test_blocklisted_words_are_refused_or_held_as_comments_are(wm, other, action, status):
    _, send, _ = wm(**{"moderation.blocked_words": "casino", "moderation.blocklist_action": action})
    other.pages["/s"] = Answer(reply_page(text="Best casino in town"))
    row = send(other.url("/s"))
    assert row.status == status
    if action == "reject":
        assert row.error == "This comment cannot be accepted here."
        assert comments() == []
    else:
        (comment,) = comments()
        assert (comment.status, comment.caught_by) == (Status.PENDING, "blocklist")


def test_too_many_links_are_refused(wm, other):
    _, send, _ = wm(**{"comments.max_links": 1})
    links = '<a href="https://a.example/">a</a> <a href="https://b.example/">b</a>'
    other.pages["/l"] = Answer(reply_page(text=links))
    row = send(other.url("/l"))
    assert (row.status, row.error) == ("rejected", "A comment may contain at most 1 links.")


def test_a_banned_domain_is_rejected_and_its_comment_stays(wm, other):
    _, send, _ = wm()
    other.pages["/reply"] = Answer(reply_page())
    first = send(other.url("/reply"))
    bans.add("domain", "127.0.0.1", SYSTEM)
    other.pages["/reply"] = Answer("gone", 410)
    row = send(other.url("/reply"))
    assert (row.status, row.error) == ("rejected", "banned domain")
    assert Comment.get_by_id(first.comment_id).status == Status.APPROVED
    assert [r.path for r in other.received] == ["/reply"]  # the banned source was not fetched


@pytest.mark.parametrize("inward", ["http://127.0.0.1:{port}/secret", "http://169.254.169.254/"])
def test_a_source_redirecting_to_a_private_address_is_rejected(
    wm, monkeypatch, make_config, inward
):
    _config, _, _ = wm()
    monkeypatch.setattr(fetch, "is_public", lambda address: address == "127.0.0.2")
    guarded = make_config(**{"site.url": SITE, "webmention.allow_private_addresses": False})
    receiver = Receiver(guarded, open_site(guarded).keys.webmention_status)
    with serving("127.0.0.2") as outside, serving() as inside:
        inside.pages["/secret"] = Answer(reply_page())
        outside.pages["/post"] = Answer("", 302, {"Location": inward.format(port=inside.port)})
        row = receiver.receive(outside.url("/post"), TARGET)
        outbox.Worker(guarded).run_once()
        row = Webmention.get_by_id(row.id)
        assert row.status == "rejected"
        assert "private" in row.error
        assert inside.received == []
    assert OutboxMessage.get().status == "sent"  # final: not retried


def test_network_trouble_is_retried_and_the_last_attempt_rejects(wm):
    _, send, worker = wm(**{"outbox.max_attempts": 2, "outbox.retry_delay": 1})
    with serving() as gone:
        source = gone.url("/reply")
    row = send(source)  # nothing listens on that port any more
    assert row.status == "queued"
    assert row.error.startswith("Cannot fetch")
    assert OutboxMessage.get().status == "pending"
    OutboxMessage.update(next_attempt=OutboxMessage.created).execute()
    worker.run_once()
    assert Webmention.get_by_id(row.id).status == "rejected"
    assert OutboxMessage.get().status == "failed"


def test_a_5xx_answer_is_retried(wm, other):
    _, send, _ = wm()
    other.pages["/busy"] = Answer("busy", 503)
    row = send(other.url("/busy"))
    assert (row.status, row.error) == ("queued", "The source answered 503.")
    assert OutboxMessage.get().status == "pending"


def test_the_thread_api_shows_an_approved_webmention_reply(serve, make_app, make_config, other):
    config = make_config(**{"site.url": SITE, "webmention.allow_private_addresses": True})
    client = serve(make_app(config))
    other.pages["/reply"] = Answer(reply_page())
    assert (
        client.post(
            "/webmention",
            body=f"source={other.url('/reply')}&target={TARGET}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status
        == 202
    )
    outbox.Worker(config).run_once()
    shown = client.get("/api/comments", query={"uri": "/2024/post/"})
    assert shown.status == 200
    (reply,) = shown.json["comments"]
    assert (reply["author"], reply["html"]) == ("Alice Example", "Great post, <em>really</em>.")
