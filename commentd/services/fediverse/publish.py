"""Publishing to followers: a blog post as an ``Article`` (``commentd fediverse publish URL``
or the feed, ``feed.py``), and, with ``[fediverse] publish_comments``, the blog's own
approved comments as ``Note`` replies in the same tree.

Each write queues its activity for every follower's inbox (``delivery.queue``) in the same
transaction, so the outbox delivers it off the request path, with retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from commentd.config import Config
from commentd.errors import ValidationError
from commentd.services import audit
from commentd.services.audit import Actor
from commentd.services.comments import thread_for_write
from commentd.services.fediverse import delivery
from commentd.services.fediverse.documents import PUBLIC, Account, iso
from commentd.services.pages import page_url
from commentd.services.webmention import thread_uri
from commentd.storage.database import write_transaction
from commentd.storage.models import (
    Comment,
    FediversePost,
    RemoteNote,
    Status,
    utcnow,
)

MAX_TITLE = 512
MAX_URL = 1024  # FediversePost.url
MAX_SUMMARY = 2000


class Published:
    """What ``publish`` did: the post, whether it is new (``Create``) or changed
    (``Update``), and how many inboxes it was queued for."""

    def __init__(self, post: FediversePost, created: bool, queued: int):
        self.post, self.created, self.queued = post, created, queued


class Publisher:
    """Publishes the blog's posts (and, if asked, its comments) to followers."""

    def __init__(self, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.account = Account(config)
        self.clock = clock

    def publish(
        self,
        url: str,
        title: str | None = None,
        summary: str | None = None,
        actor: Actor = audit.SYSTEM,
    ) -> Published:
        """Publish the blog page ``url`` (a page of ``[site] url``): ``Create`` the first
        time, ``Update`` after that (a new title or summary); audited as ``actor``'s."""
        if not self.config.federates:
            raise ValidationError(
                "ActivityPub is off: set [fediverse] account first.", code="fediverse_off"
            )
        uri = thread_uri(self.config, url)
        if len(page_url(self.config, uri)) > MAX_URL:
            raise ValidationError(
                f"The page's address is longer than {MAX_URL} characters.", code="invalid_url"
            )
        title = " ".join((title or "").split())[:MAX_TITLE] or None
        summary = " ".join((summary or "").split())[:MAX_SUMMARY]
        now = self.clock()
        with write_transaction():
            thread = thread_for_write(self.config, uri, title, self.clock)
            post = FediversePost.get_or_none(FediversePost.thread == thread)
            created = post is None
            if post is None:
                post = FediversePost.create(
                    thread=thread,
                    url=page_url(self.config, uri),
                    title=title or thread.title or url,
                    summary=summary,
                    published=now,
                )
                kind, activity_id = "Create", f"{self.account.post_id(thread.id)}#create"
            else:
                post.title = title or post.title
                post.summary = summary or post.summary
                post.updated = now
                post.save()
                stamp = int(now.replace(tzinfo=dt.timezone.utc).timestamp())
                kind, activity_id = "Update", f"{self.account.post_id(thread.id)}#update-{stamp}"
            activity = self.account.activity(
                kind, self.account.article(post, context=False), activity_id, now
            )
            queued = delivery.queue(activity, delivery.follower_inboxes())
            audit.record(actor, "publish", "thread", thread.id, {"url": post.url, "activity": kind})
        return Published(post, created, queued)

    def posts(self, limit: int = 20) -> list[FediversePost]:
        """The posts published, newest first."""
        return list(
            FediversePost.select()
            .order_by(FediversePost.published.desc(), FediversePost.id.desc())
            .limit(limit)
        )


class CommentPublisher:
    """Listens to comment events (``events.Events``): with ``[fediverse] publish_comments``,
    each approved comment of the blog's own in a published thread goes out as a ``Note``
    of the account (replying to what it answers), and its deletion as a ``Delete``."""

    def __init__(self, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.account = Account(config)
        self.clock = clock
        self.on = config.federates and config.fediverse.publish_comments

    def in_reply_to(self, comment: Comment) -> tuple[str, str | None] | None:
        """What the note answers and the remote author to tell (None: not published)."""
        if comment.parent_id is not None:
            note = RemoteNote.get_or_none(RemoteNote.comment == comment.parent_id)
            if note is not None:
                return note.uri, note.actor.uri
            parent = Comment.get_or_none(Comment.id == comment.parent_id)
            if parent is not None and parent.kind == "comment":
                return self.account.comment_id(parent.id), None
        if FediversePost.get_or_none(FediversePost.thread == comment.thread_id) is None:
            return None
        return self.account.post_id(comment.thread_id), None

    def note(self, comment: Comment) -> dict[str, Any] | None:
        """The ``Note`` of a published comment, or None when it is not one."""
        if not self.on or comment.kind != "comment" or comment.status != Status.APPROVED:
            return None
        if FediversePost.get_or_none(FediversePost.thread == comment.thread_id) is None:
            return None
        answered = self.in_reply_to(comment)
        if answered is None:
            return None
        return self.account.note(comment, answered[0])

    def _send(self, comment: Comment, kind: str) -> None:
        answered = self.in_reply_to(comment)
        if answered is None:
            return
        target, remote_author = answered
        now = self.clock()
        cc = [self.account.followers] + ([remote_author] if remote_author else [])
        inboxes = delivery.follower_inboxes()
        if remote_author:
            note = RemoteNote.get(RemoteNote.uri == target)
            inboxes.append(delivery.delivery_inbox(note.actor))
        if kind == "Delete":
            obj: Any = {"id": self.account.comment_id(comment.id), "type": "Tombstone"}
            activity_id = f"{self.account.comment_id(comment.id)}#delete"
        else:
            obj = self.account.note(comment, target, context=False)
            obj["cc"] = cc
            activity_id = f"{self.account.comment_id(comment.id)}#create"
        activity = self.account.activity(kind, obj, activity_id, now, to=[PUBLIC], cc=cc)
        activity["published"] = iso(now)
        delivery.queue(activity, inboxes)

    # -- events (inside the write transaction that causes them) -------------------------

    def comment_created(self, comment: Comment) -> None:
        if self.on and comment.kind == "comment" and comment.status == Status.APPROVED:
            self._send(comment, "Create")

    def comment_approved(self, comment: Comment) -> None:
        if self.on and comment.kind == "comment":
            self._send(comment, "Create")

    def comment_deleted(self, comment: Comment) -> None:
        if self.on and comment.kind == "comment":
            self._send(comment, "Delete")

    def comment_hidden(self, comment: Comment, reports: int) -> None:
        if self.on and comment.kind == "comment":
            self._send(comment, "Delete")
