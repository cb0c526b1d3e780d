"""Moderators' actions and the audit log, on a real database."""

from __future__ import annotations

import pytest

from commentd.errors import CommentdError
from commentd.services import audit
from commentd.services.audit import Actor
from commentd.services.clients import Client
from commentd.services.comments import CommentService
from commentd.services.keys import Keys
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Comment, Status, Thread, text_hash

ADMIN = Actor("admin", "admin", "203.0.113.0")


class Recorder:
    """Collects the events the service raises."""

    def __init__(self):
        self.seen: list[tuple[str, int]] = []

    def comment_created(self, comment):
        self.seen.append(("created", comment.id))

    def comment_approved(self, comment):
        self.seen.append(("approved", comment.id))

    def comment_deleted(self, comment):
        self.seen.append(("deleted", comment.id))

    def comment_hidden(self, comment, reports):
        self.seen.append(("hidden", comment.id))


@pytest.fixture
def world(make_config, make_app):
    config = make_config(**{"moderation.mode": "all"})
    make_app(config)  # opens and migrates the database
    events = Recorder()
    comments = CommentService(config, Keys.from_secret(config.security.secret), events=events)
    moderation = ModerationService(config, events)
    with connection():
        yield comments, moderation, events


def post(comments, text="hello", uri="/p/", **fields):
    return comments.create(uri, {"text": text, **fields}, Client("198.51.100.7")).comment


def test_approve_publishes_writes_the_audit_log_and_raises_an_event(world):
    comments, moderation, events = world
    held = post(comments)
    assert held.status == Status.PENDING
    version = Thread.get().version
    changed = moderation.approve([held.id], ADMIN)
    assert [c.id for c in changed] == [held.id]
    assert Comment.get_by_id(held.id).status == Status.APPROVED
    assert Thread.get().version == version + 1
    assert events.seen == [("created", held.id), ("approved", held.id)]
    entry = audit.entries()[0]
    assert (entry.actor, entry.actor_name, entry.address) == ("admin", "admin", "203.0.113.0")
    assert (entry.action, entry.target_type, entry.target_id) == ("approve", "comment", held.id)
    assert audit.detail_of(entry) == {"from": "pending"}


def test_acting_twice_changes_and_logs_nothing_more(world):
    comments, moderation, events = world
    held = post(comments)
    moderation.approve([held.id], ADMIN)
    assert moderation.approve([held.id], ADMIN) == []
    assert AuditEntry.select().count() == 1
    assert events.seen.count(("approved", held.id)) == 1


def test_a_bulk_action_with_an_unknown_id_changes_nothing(world):
    comments, moderation, _ = world
    a, b = post(comments, "a"), post(comments, "b")
    with pytest.raises(CommentdError) as caught:
        moderation.approve([a.id, 999, b.id], ADMIN)
    assert caught.value.code == "comment_not_found"
    assert {c.status for c in Comment.select()} == {Status.PENDING}
    assert AuditEntry.select().count() == 0


def test_a_bulk_action_refused_halfway_rolls_back_the_first_half(world):
    comments, moderation, _ = world
    a, b = post(comments, "a"), post(comments, "b")
    moderation.delete([b.id], ADMIN)
    with pytest.raises(CommentdError) as caught:
        moderation.approve([a.id, b.id], ADMIN)
    assert caught.value.code == "comment_deleted"
    assert Comment.get_by_id(a.id).status == Status.PENDING
    assert [e.action for e in audit.entries()] == ["delete"]


def test_delete_erases_the_content_and_spam_keeps_it(world):
    comments, moderation, events = world
    kept, gone = post(comments, "spammy", email="s@example.com"), post(comments, "rude")
    moderation.mark_spam([kept.id], ADMIN)
    moderation.delete([gone.id], ADMIN)
    spam = Comment.get_by_id(kept.id)
    assert (spam.status, spam.text, spam.email) == (Status.SPAM, "spammy", "s@example.com")
    deleted = Comment.get_by_id(gone.id)
    assert (deleted.status, deleted.text, deleted.author) == (Status.DELETED, "", None)
    # Who wrote it goes with it, at once, not when purge runs: network and keyed hashes too.
    assert Comment.get_by_id(kept.id).remote_addr is not None
    assert (deleted.remote_addr, deleted.voter, deleted.reader) == (None, None, None)
    assert ("deleted", gone.id) in events.seen
    assert [e.action for e in audit.entries()] == ["delete", "spam"]


def test_edit_renders_the_new_text_and_logs_the_fields(world):
    comments, moderation, _ = world
    held = post(comments, "tpyo", author="Al")
    edited = moderation.edit(held.id, {"text": "*typo*", "author": "Al"}, ADMIN)
    assert edited.html == "<p><em>typo</em></p>\n"
    assert edited.modified is not None
    assert audit.detail_of(audit.entries()[0]) == {"fields": ["text"]}
    assert Comment.get_by_id(held.id).text_hash == text_hash("*typo*")
    with pytest.raises(CommentdError) as caught:
        moderation.edit(held.id, {"text": "<script>"[:0]}, ADMIN)
    assert caught.value.code == "required"


def test_only_approved_top_level_comments_can_be_pinned(world):
    comments, moderation, _ = world
    root = post(comments, "root")
    with pytest.raises(CommentdError) as caught:
        moderation.pin(root.id, True, ADMIN)
    assert caught.value.code == "comment_not_approved"
    moderation.approve([root.id], ADMIN)
    reply = post(comments, "reply", parent=root.id)
    moderation.approve([reply.id], ADMIN)
    with pytest.raises(CommentdError) as caught:
        moderation.pin(reply.id, True, ADMIN)
    assert caught.value.code == "not_top_level"
    assert moderation.pin(root.id, True, ADMIN).pinned is True
    moderation.mark_spam([root.id], ADMIN)
    assert Comment.get_by_id(root.id).pinned is False


def test_lock_by_uri_or_id_is_logged_and_unknown_threads_are_not_found(world):
    comments, moderation, _ = world
    post(comments, uri="/locked/")
    thread = moderation.lock("/locked/", True, ADMIN)
    assert thread.locked is True
    assert moderation.lock(thread.id, False, ADMIN).locked is False
    assert [e.action for e in audit.entries()] == ["unlock", "lock"]
    assert audit.detail_of(audit.entries()[0]) == {"uri": "/locked/"}
    with pytest.raises(CommentdError) as caught:
        moderation.lock("/nope/", True, ADMIN)
    assert (caught.value.status, caught.value.code) == (404, "thread_not_found")


def test_queue_filters_searches_and_counts(world):
    comments, moderation, _ = world
    a = post(comments, "About cats", author="Ann", email="ann@example.com", uri="/a/")
    b = post(comments, "About dogs", author="Bob", uri="/b/")
    post(comments, "Other", author="Cy", uri="/a/")
    moderation.approve([b.id], ADMIN)
    assert [c.id for c in moderation.queue("pending", search="cats").comments] == [a.id]
    assert [c.id for c in moderation.queue("pending", search="ANN@EXAMPLE").comments] == [a.id]
    assert [c.id for c in moderation.queue("approved").comments] == [b.id]
    assert moderation.queue(None, thread="/a/").total == 2
    assert moderation.counts_by_status() == {
        "approved": 1,
        "pending": 2,
        "deleted": 0,
        "spam": 0,
    }
    summary = {t.thread.uri: (t.approved, t.pending) for t in moderation.threads()}
    assert summary == {"/a/": (0, 2), "/b/": (1, 0)}
    with pytest.raises(CommentdError):
        moderation.queue("bogus")
