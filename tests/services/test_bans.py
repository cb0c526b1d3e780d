"""Bans taken from a comment, their reasons, and what a ban covers, on a real database."""

from __future__ import annotations

import pytest

from commentd.errors import CommentdError
from commentd.services import audit, bans
from commentd.services.audit import Actor
from commentd.services.moderation import ModerationService, commenter
from commentd.storage.database import connection
from commentd.storage.models import Ban, Comment, Thread

ADMIN = Actor("admin", "admin", "203.0.113.0")


@pytest.fixture
def db(make_config, make_app):
    config = make_config()
    make_app(config)  # opens and migrates the database
    with connection():
        yield config


def comment(**fields) -> Comment:
    thread, _ = Thread.get_or_create(uri="/p/")
    return Comment.create(thread=thread, text="hi", html="<p>hi</p>", **fields)


def test_a_reason_longer_than_the_column_is_refused_not_a_database_error(db):
    with pytest.raises(CommentdError) as caught:
        bans.add("word", "casino", ADMIN, reason="r" * 257)
    assert (caught.value.status, caught.value.code, caught.value.field) == (
        400,
        "too_long",
        "reason",
    )
    assert Ban.select().count() == 0
    made = bans.add("word", "casino", ADMIN, reason="  one\n line  " + "r" * 240)
    assert made.reason == "one line " + "r" * 240


@pytest.mark.parametrize(
    ("stored", "network"),
    [
        ("203.0.113.0", "203.0.113.0/24"),
        ("2001:db8:1234::", "2001:db8:1234::/48"),
        ("not an address", None),
        (None, None),
    ],
)
def test_the_network_of_a_stored_address(stored, network):
    assert bans.network_of(stored) == network


def test_ban_a_commenters_email_or_network(db):
    c = comment(email="Troll@Example.com", remote_addr="198.51.100.0")
    assert bans.ban_commenter(c.id, "email", ADMIN).value == "troll@example.com"
    ban = bans.ban_commenter(c.id, "network", ADMIN, reason="flood")
    assert (ban.kind, ban.value, ban.reason) == ("ip", "198.51.100.0/24", "flood")
    assert audit.detail_of(audit.entries()[0]) == {
        "kind": "ip",
        "value": "198.51.100.0/24",
        "comment": c.id,
    }
    with pytest.raises(CommentdError) as caught:
        bans.ban_commenter(c.id, "network", ADMIN)
    assert caught.value.code == "already_banned"


def test_nothing_to_ban_on_a_comment_without_it(db):
    c = comment(remote_addr="garbage")
    for what in ("email", "network"):
        with pytest.raises(CommentdError) as caught:
            bans.ban_commenter(c.id, what, ADMIN)
        assert (caught.value.status, caught.value.code) == (409, "nothing_to_ban")
    assert Ban.select().count() == 0


def test_what_a_ban_covers(db):
    bans.add("email", "@spam.example", ADMIN)
    bans.add("email", "one@example.com", ADMIN)
    bans.add("ip", "198.51.0.0/16", ADMIN)
    bans.add("ip", "2001:db8::/32", ADMIN)
    covered = bans.Coverage(bans.lists())
    assert covered.email(" ONE@example.com ")
    assert covered.email("any@spam.example")
    assert not covered.email("two@example.com")
    assert not covered.email(None)
    assert covered.network("198.51.100.0")
    assert covered.network("2001:db8:1::")
    assert not covered.network("203.0.113.0")
    assert not covered.network("garbage")
    bans.add("ip", "203.0.113.7", ADMIN)  # one address is not the whole network
    assert not bans.Coverage(bans.lists()).network("203.0.113.0")


def test_remove_by_id_is_audited(db):
    ban = bans.add("word", "casino", ADMIN)
    bans.remove_id(ban.id, ADMIN)
    assert Ban.select().count() == 0
    assert audit.entries()[0].action == "unban"
    with pytest.raises(CommentdError) as caught:
        bans.remove_id(ban.id, ADMIN)
    assert (caught.value.status, caught.value.code) == (404, "ban_not_found")


def test_a_commenters_comments_and_counts(db):
    a = comment(email="ada@example.com", remote_addr="203.0.113.0")  # stored normal
    b = comment(email="ada@example.com", remote_addr="198.51.100.0")
    comment(email="bob@example.com", remote_addr="203.0.113.0")
    moderation = ModerationService(db)
    by_email = commenter(email=" ADA@example.com ")
    assert [c.id for c in moderation.queue(None, by=by_email).comments] == [b.id, a.id]
    assert moderation.counts_by_status(by_email)["approved"] == 2
    by_network = commenter(network="203.0.113.0")
    assert moderation.queue(None, by=by_network).total == 2
    assert moderation.counts_by_status()["approved"] == 3
