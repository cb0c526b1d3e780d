"""The Fediverse end to end against a real ActivityPub server: Fedify (tests/fediverse/peer)
plays a remote instance on loopback with its own actor and keys. It finds the blog by
WebFinger and follows it (commentd checks Fedify's signatures; Fedify checks commentd's
Accept), receives the Create of a new post in its inbox (Fedify verifies the signature),
replies; the reply is held, approved, and shows in the JSON thread (with its author's avatar,
kept and served by commentd), the page without JavaScript and the feed; the edit, the like,
the boost and the deletion follow."""

from __future__ import annotations

import feedparser
import mf2py
import pytest

from commentd.services import outbox
from commentd.services.audit import Actor
from commentd.services.fediverse.delivery import followers
from commentd.services.fediverse.publish import Publisher
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection
from commentd.storage.models import Comment
from tests.fediverse.conftest import BLOG
from tests.fediverse.peer import start_peer

URI = "/2026/federated/"
MODERATOR = Actor("cli", "tester")


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    started = start_peer(tmp_path_factory, name="Alice Peer", handle="alice")
    yield started
    started.stop()


def deliver(config) -> int:
    """Run the outbox worker once, as ``commentd serve`` does in the background."""
    with connection():
        return outbox.Worker(config, steps=[]).run_once()


def shown(client) -> list[dict]:
    return [c for c in client.thread(URI).json["comments"] if c["status"] != "deleted"]


def test_a_fedify_account_follows_the_blog_gets_its_post_and_replies(
    fedi_config, make_app, serve, peer
):
    config = fedi_config(**{"moderation.mode": "first"})
    client = serve(make_app(config))
    peer.reset(cache=True)
    host = f"127.0.0.1:{client.port}"
    actor = f"http://{host}/ap/actor"

    # WebFinger finds the account, and Fedify reads its actor document (key included)
    found = peer.webfinger(f"acct:blog@{host}")
    assert found["actor"] == actor
    described = peer.lookup(actor)
    assert described["type"] == "Service"
    assert described["publicKeys"] == [{"id": f"{actor}#main-key", "owner": actor}]

    # the follow: commentd checks Fedify's signature, keeps it, and answers with an Accept
    # that Fedify in turn verifies (only verified activities reach its inbox)
    peer.follow(actor)
    assert [row["handle"] for row in client_followers(config)] == [f"alice@127.0.0.1:{peer.port}"]
    assert deliver(config) == 1
    accept = peer.wait_for(lambda a: a["type"] == "Accept")
    assert accept["actor"] == actor
    assert client.get("/ap/followers").json["totalItems"] == 1

    # a new post reaches the follower's inbox, signed
    with connection():
        done = Publisher(config).publish(BLOG + URI, "Federated post", "It goes out.")
    assert (done.created, done.queued) == (True, 1)
    assert deliver(config) == 1
    create = peer.wait_for(lambda a: a["type"] == "Create")
    article = f"http://{host}/ap/posts/{done.post.thread_id}"
    assert create["object"]["id"] == article
    assert create["object"]["type"] == "Article"
    assert create["object"]["name"] == "Federated post"
    assert create["object"]["url"] == BLOG + URI

    # the reply: held (first comment of this remote account), then approved
    note = peer.reply(article, actor, "<p>Replying from Fedify, <em>hello</em>!</p>")["id"]
    assert shown(client) == []
    with connection():
        held = Comment.get(Comment.kind == "fediverse")
        assert held.status == "pending"
        ModerationService(config).approve([held.id], MODERATOR)
    assert deliver(config) == 1  # the worker keeps the author's avatar
    (comment,) = shown(client)
    assert comment["author"] == "Alice Peer"
    picture = client.get(comment["picture"].split(str(client.port), 1)[1])
    assert (picture.status, picture.header("content-type")) == (200, "image/png")
    assert picture.raw.startswith(b"\x89PNG")
    assert comment["type"] == "fediverse"
    assert comment["html"] == "<p>Replying from Fedify, <em>hello</em>!</p>"
    assert comment["website"].startswith(f"http://127.0.0.1:{peer.port}/")
    page = client.get("/html/thread", query={"uri": URI}).raw.decode()
    assert "Replying from Fedify" in page
    assert "via 127.0.0.1" in page
    assert "Replying from Fedify" in str(mf2py.parse(doc=page, url=BLOG)["items"])
    feed = feedparser.parse(client.get("/feed/thread.atom", query={"uri": URI}).raw)
    assert [entry.author for entry in feed.entries] == ["Alice Peer"]

    # the author edits it; likes and boosts the post; a second reply of theirs is not held
    peer.update(note, "<p>Replying from Fedify, edited.</p>", to=actor)
    assert shown(client)[0]["html"] == "<p>Replying from Fedify, edited.</p>"
    like = peer.like(article, actor)
    peer.announce(article, actor)
    reactions = client.thread(URI).json["reactions"]
    assert (reactions["like"]["count"], reactions["repost"]["count"]) == (1, 1)
    assert reactions["like"]["people"][0]["name"] == "Alice Peer"
    peer.undo(like, actor)
    assert client.thread(URI).json["reactions"]["like"]["count"] == 0
    second = peer.reply(note, actor, "<p>And a follow-up.</p>")["id"]
    (top,) = shown(client)
    assert [r["html"] for r in top["replies"]] == ["<p>And a follow-up.</p>"]

    # deletions
    peer.delete(second, to=actor)
    peer.delete(note, to=actor)
    assert shown(client) == []

    # unfollowing
    peer.unfollow(actor)
    assert client.get("/ap/followers").json["totalItems"] == 0


def client_followers(config) -> list[dict]:
    with connection():
        return followers()
