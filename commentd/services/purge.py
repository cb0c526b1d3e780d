"""``commentd purge``: drop old held and spam comments, and stored networks past retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from commentd.services import audit
from commentd.services.audit import Actor
from commentd.services.comments import erase
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, Status, utcnow


@dataclass(frozen=True)
class Purged:
    pending: int = 0
    spam: int = 0
    addresses: int = 0


def _drop(status: Status, before: dt.datetime, when: dt.datetime) -> int:
    """Delete ``status`` comments older than ``before``; ones with replies become placeholders."""
    old = (Comment.status == status) & (Comment.created < before)
    has_replies = Comment.id.in_(
        Comment.select(Comment.parent).where(Comment.parent.is_null(False))
    )
    kept = list(Comment.select().where(old & has_replies))
    for comment in kept:  # only the few with replies: erase() clears every private field
        erase(comment, when)
    return len(kept) + Comment.delete().where(old & ~has_replies).execute()


def purge(
    actor: Actor,
    pending_older_than: int | None = None,
    spam_older_than: int | None = None,
    ip_older_than: int | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Purged:
    """Each age is in seconds; None leaves that kind alone."""
    now = clock()
    with write_transaction():
        pending = (
            _drop(Status.PENDING, now - dt.timedelta(seconds=pending_older_than), now)
            if pending_older_than is not None
            else 0
        )
        spam = (
            _drop(Status.SPAM, now - dt.timedelta(seconds=spam_older_than), now)
            if spam_older_than is not None
            else 0
        )
        addresses = 0
        if ip_older_than is not None:
            cutoff = now - dt.timedelta(seconds=ip_older_than)
            addresses = (
                Comment.update(remote_addr=None)
                .where((Comment.created < cutoff) & Comment.remote_addr.is_null(False))
                .execute()
            )
        result = Purged(pending, spam, addresses)
        if pending or spam or addresses:
            audit.record(actor, "purge", "site", None, result.__dict__)
    return result
