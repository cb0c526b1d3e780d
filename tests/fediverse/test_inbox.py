"""The inbox over real HTTP: signed activities from a remote account on loopback (its actor
served by a real server, its requests signed by its own key), and every way a signature
can be wrong."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from commentd.services import outbox
from commentd.services.audit import Actor
from commentd.services.bans import add as add_ban
from commentd.services.fediverse import signatures
from commentd.services.fediverse.publish import Publisher
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import Comment, Follower, OutboxMessage, RemoteActor, RemoteNote
from tests.fediverse.conftest import BLOG
from tests.fediverse.remote import RemoteAccount, session_key
from tests.pages import serving

URI = "/2026/hello/"


def post(client, account: RemoteAccount, activity: dict, **how) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{client.port}/ap/inbox"
    body, headers = account.signed(url, activity, **how)
    answer = client.request("POST", "/ap/inbox", body=body, headers=headers)
    return answer.status, answer.json


@pytest.fixture
def blog(fedi_config, make_app, serve):
    config = fedi_config()
    client = serve(make_app(config))
    with connection():
        Publisher(config).publish(BLOG + URI, "Hello, world", "The first post.")
    client.config = config
    return client


def article(client) -> str:
    return f"http://127.0.0.1:{client.port}/ap/posts/1"


def shown(client) -> list[dict]:
    return client.thread(URI).json["comments"]


def test_a_follow_is_kept_and_answered_with_a_signed_accept(blog, grace):
    follow = grace.activity("Follow", f"http://127.0.0.1:{blog.port}/ap/actor")
    assert post(blog, grace, follow) == (202, {"status": "done"})
    with connection():
        (follower,) = Follower.select()
        assert follower.actor.uri == grace.id
        assert follower.actor.name == "Grace Remote"
        (message,) = OutboxMessage.select().where(OutboxMessage.kind == "activitypub")
    assert message.recipient == grace.inbox
    assert blog.get("/ap/followers").json["totalItems"] == 1

    worker = outbox.Worker(blog.config, steps=[])
    with connection():
        assert worker.run_once() == 1
    (delivered,) = [r for r in grace.site.received if r.method == "POST"]
    accept = json.loads(delivered.body)
    assert accept["type"] == "Accept"
    assert accept["object"]["id"] == follow["id"]
    # the Accept is signed by the blog's key, which its actor document publishes
    actor = blog.get("/ap/actor").json
    headers = {k.lower(): v for k, v in delivered.headers.items()}
    signature = signatures.parse(headers["signature"])
    assert signature.key_id == actor["publicKey"]["id"]
    request = signatures.SignedRequest("POST", delivered.path, headers, delivered.body)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    signatures.precheck(signature, request, now, 60)
    signatures.verify(
        signature, request, signatures.load_public_key(actor["publicKey"]["publicKeyPem"])
    )

    undo = grace.activity("Undo", follow)
    assert post(blog, grace, undo)[0] == 202
    assert blog.get("/ap/followers").json["totalItems"] == 0


def test_a_reply_becomes_a_comment_and_follows_its_edits_and_deletion(blog, grace):
    note = grace.note(article(blog), "<p>Nice post! <script>alert(1)</script></p>")
    assert post(blog, grace, grace.activity("Create", note)) == (202, {"status": "done"})
    (comment,) = shown(blog)
    assert comment["type"] == "fediverse"
    assert comment["author"] == "Grace Remote"
    assert comment["website"] == grace.site.url("/@grace")
    assert comment["source"] == note["url"]
    assert comment["html"] == "<p>Nice post! </p>"

    # a reply to that reply nests under it
    answer = grace.note(note["id"], "<p>And one more thing.</p>")
    post(blog, grace, grace.activity("Create", answer))
    (top,) = shown(blog)
    assert [r["html"] for r in top["replies"]] == ["<p>And one more thing.</p>"]

    edited = {**note, "content": "<p>Nice post, edited.</p>", "updated": "2026-12-01T11:00:00Z"}
    post(blog, grace, grace.activity("Update", edited))
    assert shown(blog)[0]["html"] == "<p>Nice post, edited.</p>"
    assert shown(blog)[0]["modified"] is not None

    tombstone = {"id": note["id"], "type": "Tombstone"}
    post(blog, grace, grace.activity("Delete", tombstone))
    first = shown(blog)[0]
    assert first["status"] == "deleted"
    assert first["author"] is None
    assert first["html"] == ""


def test_the_reply_loses_the_leading_mention_of_the_blog(blog, grace):
    mention = (
        '<p><span class="h-card" translate="no"><a href="https://blog.example.com/" '
        'class="u-url mention">@<span>blog</span></a></span> Thanks for this.</p>'
    )
    post(blog, grace, grace.activity("Create", grace.note(article(blog), mention)))
    assert shown(blog)[0]["html"] == "<p>Thanks for this.</p>"


def test_a_reply_to_something_not_ours_is_ignored(blog, grace):
    note = grace.note("https://elsewhere.example/notes/1")
    assert post(blog, grace, grace.activity("Create", note)) == (202, {"status": "ignored"})
    assert shown(blog) == []


def test_a_note_of_another_account_is_refused(blog, grace):
    note = grace.note(article(blog), attributedTo="https://elsewhere.example/users/eve")
    status, body = post(blog, grace, grace.activity("Create", note))
    assert (status, body["error"]["code"]) == (403, "object_not_owned")
    assert shown(blog) == []


def test_first_time_moderation_holds_each_remote_account_until_approved(
    fedi_config, make_app, serve, grace
):
    config = fedi_config(**{"moderation.mode": "first"})
    client = serve(make_app(config))
    with connection():
        Publisher(config).publish(BLOG + URI, "Hello")
    post(client, grace, grace.activity("Create", grace.note(article(client))))
    assert shown(client) == []  # held for a moderator
    with connection():
        comment = Comment.get()
        assert comment.status == "pending"
        open_site(config).moderation().approve([comment.id], Actor("cli", "tester"))
    post(client, grace, grace.activity("Create", grace.note(article(client), "<p>Again</p>")))
    assert [c["html"] for c in shown(client)] == ["<p>Nice post!</p>", "<p>Again</p>"]


def test_likes_and_announces_count_on_the_thread_and_undo_takes_them_back(blog, grace):
    like = grace.activity("Like", article(blog))
    boost = grace.activity("Announce", article(blog))
    assert post(blog, grace, like)[1] == {"status": "done"}
    assert post(blog, grace, boost)[1] == {"status": "done"}
    assert post(blog, grace, like)[0] == 202  # the same Like again counts once
    reactions = blog.thread(URI).json["reactions"]
    assert reactions["like"]["count"] == 1
    assert reactions["repost"]["count"] == 1
    assert reactions["like"]["people"] == [
        {"name": "Grace Remote", "url": grace.site.url("/@grace")}
    ]
    post(blog, grace, grace.activity("Undo", like))
    assert blog.thread(URI).json["reactions"]["like"]["count"] == 0


def test_deleting_the_account_removes_its_comments_reactions_and_follow(blog, grace):
    post(blog, grace, grace.activity("Follow", f"http://127.0.0.1:{blog.port}/ap/actor"))
    post(blog, grace, grace.activity("Create", grace.note(article(blog))))
    post(blog, grace, grace.activity("Like", article(blog)))
    # the account is gone: its actor answers 410, the key kept still checks its Delete
    grace.site.pages[f"/users/{grace.name}"].status = 410
    assert post(blog, grace, grace.activity("Delete", grace.id))[1] == {"status": "done"}
    assert shown(blog) == []  # erased, and with no replies not even a placeholder
    with connection():
        assert Comment.get().author is None
    assert blog.thread(URI).json["reactions"]["like"]["count"] == 0
    assert blog.get("/ap/followers").json["totalItems"] == 0


def test_a_deleted_account_never_seen_is_ignored_without_a_fetch(blog, remote_site):
    stranger = RemoteAccount(remote_site, "stranger")
    remote_site.pages["/users/stranger"].status = 410
    status, body = post(blog, stranger, stranger.activity("Delete", stranger.id))
    assert (status, body) == (202, {"status": "ignored"})


# -- signatures -------------------------------------------------------------------------


def test_an_unsigned_activity_is_refused(blog, grace):
    body = json.dumps(grace.activity("Create", grace.note(article(blog)))).encode()
    answer = blog.request(
        "POST", "/ap/inbox", body=body, headers={"Content-Type": "application/activity+json"}
    )
    assert (answer.status, answer.error_code) == (401, "signature_missing")
    assert shown(blog) == []


def test_a_tampered_body_is_refused(blog, grace):
    activity = grace.activity("Create", grace.note(article(blog)))
    forged = json.dumps({**activity, "object": grace.note(article(blog), "<p>spam</p>")})
    status, body = post(blog, grace, activity, body=forged.encode())
    assert (status, body["error"]["code"]) == (401, "digest_mismatch")
    assert shown(blog) == []


def test_a_signature_by_another_key_is_refused(blog, grace):
    activity = grace.activity("Create", grace.note(article(blog)))
    status, body = post(blog, grace, activity, key=session_key(1))
    assert (status, body["error"]["code"]) == (401, "signature_invalid")
    assert shown(blog) == []


def test_a_replayed_old_request_is_refused(blog, grace):
    activity = grace.activity("Create", grace.note(article(blog)))
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=2)
    status, body = post(blog, grace, activity, now=old)
    assert (status, body["error"]["code"]) == (401, "signature_stale")
    assert shown(blog) == []


def test_an_activity_for_another_actor_is_refused(blog, grace, remote_site):
    mallory = RemoteAccount(remote_site, "mallory", key=session_key(1))
    activity = grace.activity("Create", grace.note(article(blog)))
    status, body = post(blog, mallory, activity, key=mallory.key, key_id=mallory.key_id)
    assert (status, body["error"]["code"]) == (401, "signature_actor_mismatch")


def test_a_rotated_key_is_fetched_again(blog, grace):
    post(blog, grace, grace.activity("Follow", f"http://127.0.0.1:{blog.port}/ap/actor"))
    grace.key = session_key(1)
    grace.serve()  # the actor now publishes the new key
    status, _ = post(blog, grace, grace.activity("Create", grace.note(article(blog))))
    assert status == 202
    with connection():
        assert RemoteActor.get().public_key == session_key(1).public_pem


def test_an_unreachable_key_is_refused(blog, grace):
    grace.site.pages[f"/users/{grace.name}"].status = 404
    status, body = post(blog, grace, grace.activity("Create", grace.note(article(blog))))
    assert (status, body["error"]["code"]) == (401, "signature_key_unavailable")


def test_a_blocked_instance_gets_403_before_anything_is_fetched(blog):
    with serving("127.0.0.2") as other:
        eve = RemoteAccount(other, "eve")
        with connection():
            add_ban("domain", "127.0.0.2", Actor("cli", "tester"))
        status, body = post(blog, eve, eve.activity("Create", eve.note(article(blog))))
        assert (status, body["error"]["code"]) == (403, "instance_blocked")
        assert other.received == []
    with connection():
        assert RemoteNote.select().count() == 0


def test_a_body_that_is_not_an_activity_is_a_clear_400(blog, grace):
    url = f"http://127.0.0.1:{blog.port}/ap/inbox"
    _, headers = grace.signed(url, {"type": "Create"})
    answer = blog.request("POST", "/ap/inbox", body=b'{"type": "Create"}', headers=headers)
    assert (answer.status, answer.error_code) == (400, "invalid_activity")


def test_the_inbox_takes_only_activity_json(blog):
    answer = blog.request("POST", "/ap/inbox", body=b"x=1", headers={"Content-Type": "text/plain"})
    assert (answer.status, answer.error_code) == (415, "unsupported_media_type")


def test_a_profile_address_too_long_for_a_website_is_left_out(blog, remote_site):
    long = RemoteAccount(remote_site, "long")
    document = long.document()
    document["url"] = remote_site.url("/@long?" + "x" * 700)
    remote_site.pages["/users/long"].body = json.dumps(document)
    assert post(blog, long, long.activity("Create", long.note(article(blog))))[0] == 202
    (comment,) = shown(blog)
    assert (comment["author"], comment["website"]) == ("Long Remote", None)


def mastodon_create(account: RemoteAccount, in_reply_to: str, blog_url: str) -> dict:
    """A Create as Mastodon 4 sends one (its JSON-LD context with inline extensions, the
    h-card mention, contentMap, a content warning, an attached picture, the Mention tag)."""
    status = account.new_id("statuses")
    note = {
        "id": status,
        "type": "Note",
        "summary": "Spoilers for the post",
        "inReplyTo": in_reply_to,
        "published": "2026-12-01T10:00:00Z",
        "url": status.replace("/users/grace/statuses/", "/@grace/"),
        "attributedTo": account.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [account.id + "/followers", blog_url],
        "sensitive": True,
        "atomUri": status,
        "inReplyToAtomUri": in_reply_to,
        "conversation": "tag:mastodon.example,2026-12-01:objectId=1:objectType=Conversation",
        "content": (
            '<p><span class="h-card" translate="no"><a href="https://blog.example.com" '
            'class="u-url mention">@<span>blog</span></a></span> The ending surprised me.</p>'
        ),
        "contentMap": {"en": "<p>The ending surprised me.</p>"},
        "attachment": [
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "https://files.mastodon.example/media/cat.png",
                "name": "A cat reading the post",
                "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                "width": 800,
                "height": 600,
            }
        ],
        "tag": [{"type": "Mention", "href": blog_url, "name": "@blog@comments.example.com"}],
        "replies": {"id": status + "/replies", "type": "Collection"},
    }
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {
                "ostatus": "http://ostatus.org#",
                "atomUri": "ostatus:atomUri",
                "sensitive": "as:sensitive",
                "toot": "http://joinmastodon.org/ns#",
                "blurhash": "toot:blurhash",
            },
        ],
        "id": status + "/activity",
        "type": "Create",
        "actor": account.id,
        "published": "2026-12-01T10:00:00Z",
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def test_a_reply_as_mastodon_sends_it(blog, grace):
    actor = f"http://127.0.0.1:{blog.port}/ap/actor"
    assert post(blog, grace, mastodon_create(grace, article(blog), actor))[1] == {"status": "done"}
    (comment,) = shown(blog)
    assert comment["html"] == (
        "<p><strong>Spoilers for the post</strong></p><p>The ending surprised me.</p>"
        '<p><a href="https://files.mastodon.example/media/cat.png" rel="nofollow ugc noopener">'
        "A cat reading the post</a></p>"
    )
    assert comment["source"].startswith(grace.site.url("/@grace/"))
    assert comment["created"].startswith("2026-12-01T10:00:00")


def test_a_picture_alone_is_a_comment_linking_to_it(blog, grace):
    note = grace.note(article(blog), "")
    note["attachment"] = {"type": "Image", "url": "https://files.example/x/photo.jpg"}
    assert post(blog, grace, grace.activity("Create", note))[1] == {"status": "done"}
    assert shown(blog)[0]["html"] == (
        '<p><a href="https://files.example/x/photo.jpg" rel="nofollow ugc noopener">'
        "photo.jpg</a></p>"
    )
