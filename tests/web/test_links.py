"""The pages behind mailed links: bad, expired and used links, and the pages' headers."""

from __future__ import annotations

import datetime as dt

import pytest

from commentd.services import links
from commentd.services.site import open_site
from commentd.storage.models import AuditEntry, Comment, Status, Thread, UsedToken, utcnow

ADMIN = "admin@blog.example.com"


@pytest.fixture
def held(serve, make_app, make_config):
    """A client, the site's keys, and one pending comment."""
    config = make_config(**{"mail.admin": ADMIN, "moderation.mode": "all"})
    client = serve(make_app(config))
    cid = client.post_comment(text="<b>hold</b> me", author="Ada <script>").json["comment"]["id"]
    return client, config, open_site(config).keys, cid


def token(keys, action, cid, expires_in=3600):
    return links.moderation_token(keys, action, cid, utcnow() + dt.timedelta(seconds=expires_in))


def test_the_page_escapes_and_is_locked_down(held):
    client, _, keys, cid = held
    res = client.get(f"/moderate/{token(keys, 'approve', cid)}")
    assert res.status == 200
    assert res.header("Content-Type") == "text/html; charset=UTF-8"
    assert b"&lt;b&gt;hold&lt;/b&gt; me" in res.raw
    assert b"Ada &lt;script&gt;" in res.raw
    assert b"<script>" not in res.raw
    csp = res.header("Content-Security-Policy")
    assert "default-src 'none'" in csp
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "style-src 'sha256-" in csp
    assert res.header("X-Frame-Options") == "DENY"
    assert res.header("Cache-Control") == "no-store"
    assert res.header("Referrer-Policy") == "no-referrer"
    assert res.header("X-Content-Type-Options") == "nosniff"


def test_the_inline_style_matches_the_csp_hash(held):
    import base64
    import hashlib
    import re

    client, _, keys, cid = held
    res = client.get(f"/moderate/{token(keys, 'delete', cid)}")
    style = re.search(rb"<style>(.*?)</style>", res.raw, flags=re.S)[1]
    digest = base64.b64encode(hashlib.sha256(style).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in res.header("Content-Security-Policy")


def forged_tokens(keys, cid):
    good = token(keys, "approve", cid)
    action, comment_id, expires, nonce, signature = good.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return {
        "bad signature": f"{action}.{comment_id}.{expires}.{nonce}.{flipped}",
        "other action": f"delete.{comment_id}.{expires}.{nonce}.{signature}",
        "other comment": f"{action}.{cid + 1}.{expires}.{nonce}.{signature}",
        "later expiry": f"{action}.{comment_id}.{int(expires) + 1}.{nonce}.{signature}",
        "other key": links.moderation_token(
            type(keys).from_secret("x" * 40),
            "approve",
            cid,
            utcnow() + dt.timedelta(hours=1),
        ),
        "garbage": "not-a-token",
        "unknown action": f"publish.{comment_id}.{expires}.{nonce}.{signature}",
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_links_are_refused_and_change_nothing(held, method):
    client, _, keys, cid = held
    for name, forged in forged_tokens(keys, cid).items():
        res = client.request(method, f"/moderate/{forged}")
        assert res.status == 404, name
        assert b"invalid_link" in res.raw, name
        assert res.header("Content-Type").startswith("text/html"), name
    assert Comment.get_by_id(cid).status == Status.PENDING
    assert UsedToken.select().count() == 0
    assert AuditEntry.select().count() == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_link_is_refused(held, method):
    client, _, keys, cid = held
    res = client.request(method, f"/moderate/{token(keys, 'approve', cid, expires_in=-1)}")
    assert res.status == 410
    assert b"link_expired" in res.raw
    assert Comment.get_by_id(cid).status == Status.PENDING


def test_a_link_acts_once_and_is_audited(held):
    client, config, keys, cid = held
    link = token(keys, "approve", cid)
    res = client.post(f"/moderate/{link}", headers={"Origin": config.public_url})
    assert res.status == 200
    assert f"Comment {cid} approved.".encode() in res.raw
    (entry,) = AuditEntry.select()
    assert (entry.actor, entry.actor_name, entry.address, entry.action, entry.target_id) == (
        "email",
        ADMIN,
        "127.0.0.0",
        "approve",
        cid,
    )
    again = client.post(f"/moderate/{link}")
    assert again.status == 409
    assert b"link_used" in again.raw
    assert AuditEntry.select().count() == 1


def test_a_post_from_another_site_is_refused(held):
    client, _, keys, cid = held
    res = client.post(
        f"/moderate/{token(keys, 'approve', cid)}", headers={"Origin": "https://evil.example"}
    )
    assert res.status == 403
    assert Comment.get_by_id(cid).status == Status.PENDING


def test_a_link_for_a_deleted_comment_is_not_spent(held):
    client, _, keys, cid = held
    assert client.post(f"/moderate/{token(keys, 'delete', cid)}").status == 200
    approve = token(keys, "approve", cid)
    res = client.post(f"/moderate/{approve}")
    assert res.status == 409
    assert b"comment_deleted" in res.raw
    assert UsedToken.select().count() == 1  # only the delete link's


def test_the_get_page_says_when_nothing_is_left_to_do(held):
    client, _, keys, cid = held
    assert client.post(f"/moderate/{token(keys, 'approve', cid)}").status == 200
    res = client.get(f"/moderate/{token(keys, 'approve', cid)}")
    assert res.status == 200
    assert b"already approved" in res.raw
    assert b"<form" not in res.raw


def test_unsubscribe_links_are_signed(held):
    client, config, keys, _ = held
    service = links.LinkService(config, keys)
    thread = Thread.get()
    good = service.unsubscribe_token(thread.id, "pat@example.com")
    assert client.get(f"/unsubscribe/{good}").status == 200
    thread_id, digest, signature = good.split(".")
    other_thread = f"{int(thread_id) + 1}.{digest}.{signature}"
    other_digest = f"{thread_id}.{'0' * 32}.{signature}"
    for bad in (other_thread, other_digest, "x.y.z", good[:-2]):
        for method in ("GET", "POST"):
            res = client.request(method, f"/unsubscribe/{bad}")
            assert res.status == 404, (bad, method)
            assert b"invalid_link" in res.raw
