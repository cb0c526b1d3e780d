"""Moderators' actions: approve, delete, mark spam, edit, pin, lock; and the queue they see.

Every action runs in one transaction with its audit entry and its events, and a bulk action is
all or nothing: an unknown id refuses the whole batch. Acting twice is harmless: approving an
approved comment changes nothing and writes nothing.

Approving and marking spam are the two decisions the spam filter learns from, wherever they
are taken (the CLI, the admin page and mailed links all call ``approve`` and ``mark_spam``):
``_decided`` trains it in the same transaction (approved = ham, spam = spam) and, with Akismet
on, queues the decision for Akismet (``submit-ham``, ``submit-spam``) in the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, Case, fn

from commentd.config import Config
from commentd.errors import Conflict, NotFound, ValidationError
from commentd.services import audit, bans, spam, validation
from commentd.services import filter as spam_filter
from commentd.services.audit import Actor
from commentd.services.clients import anonymize_ip
from commentd.services.comments import bump_version, erase
from commentd.services.events import Events, NoEvents
from commentd.services.render import render
from commentd.services.threads import thread_closed
from commentd.storage.database import write_transaction
from commentd.storage.models import (
    REPORT_REASONS,
    Comment,
    Report,
    Status,
    Thread,
    text_hash,
    utcnow,
)

MAX_BATCH = 500
QUEUE_STATUSES = tuple(status.value for status in Status)

# Columns computed from the text: an edit changes them with it, and the audit names the text.
DERIVED = frozenset({"html", "text_hash"})


@dataclass(frozen=True)
class Reports:
    """Readers' reports of one comment: how many gave each reason, most given first."""

    reasons: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.reasons)

    def __str__(self) -> str:
        times = "once" if self.total == 1 else f"{self.total} times"
        return f"Reported {times}: " + ", ".join(f"{r} \u00d7{n}" for r, n in self.reasons)


@dataclass(frozen=True)
class QueuePage:
    """One page of the moderation list, with the number of matches in all, and the reports of
    the page's reported comments by comment id."""

    comments: list[Comment]
    total: int
    limit: int
    offset: int
    reports: dict[int, Reports]


def reports_of(comment_ids: Iterable[int]) -> dict[int, Reports]:
    """The reports of each of ``comment_ids`` that has some."""
    ids = list(comment_ids)
    if not ids:
        return {}
    counted: dict[int, dict[str, int]] = {}
    rows = (
        Report.select(Report.comment, Report.reason, fn.COUNT(Report.id))
        .where(Report.comment.in_(ids))
        .group_by(Report.comment, Report.reason)
        .tuples()
    )
    for comment_id, reason, count in rows:
        counted.setdefault(comment_id, {})[reason] = count
    order = {reason: n for n, reason in enumerate(REPORT_REASONS)}
    return {
        comment_id: Reports(
            tuple(sorted(reasons.items(), key=lambda item: (-item[1], order.get(item[0], 99))))
        )
        for comment_id, reasons in counted.items()
    }


@dataclass(frozen=True)
class Commenter:
    """One commenter as moderators pick them out: every comment with this email (or, for an
    ``@domain``, every address there), or every comment from this network as comments store
    it (``203.0.113.0``)."""

    email: str | None = None
    network: str | None = None

    def condition(self) -> Any:
        """The peewee condition that picks this commenter's comments."""
        if self.email and self.email.startswith("@"):
            return Comment.email.endswith(self.email)
        if self.email:
            return Comment.email == self.email
        return Comment.remote_addr == self.network


def commenter(email: str | None = None, network: str | None = None) -> Commenter:
    """A checked :class:`Commenter`: an email or @domain as a ban takes it, or any IP address
    (its network, as comments store it, is the commenter)."""
    if (email is None) == (network is None):
        raise ValidationError("Name one email or one network.", code="required", field="email")
    if email is not None:
        return Commenter(email=bans.normalize("email", email))
    return Commenter(network=anonymize_ip(bans.address(network or "")))


@dataclass(frozen=True)
class ThreadSummary:
    """A thread with its approved and pending counts, for the admin's thread list."""

    thread: Thread
    approved: int
    pending: int
    closed: bool


def _ids(values: Iterable[Any]) -> list[int]:
    ids = list(dict.fromkeys(validation.identifier(value, "ids") for value in values))
    if not ids or None in ids:
        raise ValidationError("Name at least one comment.", code="required", field="ids")
    if len(ids) > MAX_BATCH:
        raise ValidationError(
            f"Act on at most {MAX_BATCH} comments at once.", code="too_many", field="ids"
        )
    return ids  # type: ignore[return-value]


class ModerationService:
    """What moderators do, from the web admin, the CLI or a mailed link."""

    def __init__(
        self,
        config: Config,
        events: Events | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.config = config
        self.events = events or NoEvents()
        self.clock = clock

    # -- reads --------------------------------------------------------------------------

    def comment(self, comment_id: int) -> Comment:
        """Any comment, whatever its status."""
        comment = Comment.get_or_none(Comment.id == comment_id)
        if comment is None:
            raise NotFound(f"No comment {comment_id}.", code="comment_not_found")
        return comment

    def queue(
        self,
        status: str | None = "pending",
        thread: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
        since: dt.datetime | None = None,
        by: Commenter | None = None,
    ) -> QueuePage:
        """Comments for moderators: filtered by status, thread uri and commenter (``by``),
        searched in text, author and email; pending first in age order, other statuses
        newest first."""
        query = Comment.select(Comment, Thread).join(Thread)
        if by is not None:
            query = query.where(by.condition())
        if status:
            if status not in QUEUE_STATUSES:
                raise ValidationError(
                    f"status must be one of {', '.join(QUEUE_STATUSES)}.",
                    code="invalid_value",
                    field="status",
                )
            query = query.where(Comment.status == Status(status))
        if thread:
            query = query.where(Thread.uri == thread)
        if since is not None:
            query = query.where(Comment.created >= since)
        if search:
            term = search.strip()
            query = query.where(
                Comment.text.contains(term)
                | Comment.author.contains(term)
                | Comment.email.contains(term)
            )
        total = query.count()
        if status == "pending":
            query = query.order_by(Comment.created, Comment.id)
        else:
            query = query.order_by(Comment.created.desc(), Comment.id.desc())
        limit = max(1, min(int(limit), 500))
        offset = max(0, int(offset))
        comments = list(query.limit(limit).offset(offset))
        reports = reports_of(c.id for c in comments)
        return QueuePage(comments, total, limit, offset, reports)

    def reports(self, comment_id: int) -> Reports | None:
        """Readers' reports of one comment; None when it has none."""
        return reports_of([comment_id]).get(comment_id)

    def counts_by_status(self, by: Commenter | None = None) -> dict[str, int]:
        """How many comments there are in each status (of one commenter's, with ``by``)."""
        rows = Comment.select(Comment.status, fn.COUNT(Comment.id))
        if by is not None:
            rows = rows.where(by.condition())
        rows = rows.group_by(Comment.status)
        counts = dict.fromkeys(QUEUE_STATUSES, 0)
        counts.update({Status(status).value: count for status, count in rows.tuples()})
        return counts

    def threads(
        self, limit: int = 100, offset: int = 0, search: str | None = None
    ) -> list[ThreadSummary]:
        """Threads, the most recently started first, with their counts; ``search`` matches
        the uri or the title."""
        approved = fn.SUM(Case(None, [(Comment.status == Status.APPROVED, 1)], 0))
        pending = fn.SUM(Case(None, [(Comment.status == Status.PENDING, 1)], 0))
        rows = Thread.select(Thread, approved.alias("approved"), pending.alias("pending")).join(
            Comment, JOIN.LEFT_OUTER
        )
        if search:
            rows = rows.where(Thread.uri.contains(search) | Thread.title.contains(search))
        rows = (
            rows.group_by(Thread)
            .order_by(Thread.created.desc(), Thread.id.desc())
            .limit(limit)
            .offset(offset)
        )
        now = self.clock()
        return [
            ThreadSummary(row, int(row.approved or 0), int(row.pending or 0), self.closed(row, now))
            for row in rows
        ]

    def thread(self, key: int | str) -> Thread:
        """A thread by id or by uri."""
        if isinstance(key, int):
            thread = Thread.get_or_none(Thread.id == key)
        else:
            thread = Thread.get_or_none(Thread.uri == key)
        if thread is None:
            raise NotFound(f"No thread {key}.", code="thread_not_found")
        return thread

    def closed(self, thread: Thread, now: dt.datetime | None = None) -> bool:
        """Locked by hand, or older than ``[moderation] lock_after``."""
        return thread_closed(thread, self.config, (lambda: now) if now else self.clock)

    # -- comment actions ----------------------------------------------------------------

    def _batch(self, ids: Iterable[Any]) -> list[Comment]:
        wanted = _ids(ids)
        found = {c.id: c for c in Comment.select().where(Comment.id.in_(wanted))}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"No comment {', '.join(map(str, missing))}.", code="comment_not_found")
        return [found[i] for i in wanted]

    def approve(self, ids: Iterable[Any], actor: Actor) -> list[Comment]:
        """Publish held (or spam) comments, and clear readers' reports of them (so that a
        comment hidden by reports is not hidden again by the next one)."""
        changed = []
        with write_transaction():
            for comment in self._batch(ids):
                if comment.status == Status.DELETED:
                    raise Conflict(f"Comment {comment.id} was deleted.", code="comment_deleted")
                cleared = Report.delete().where(Report.comment == comment.id).execute()
                if cleared:
                    audit.record(
                        actor, "clear_reports", "comment", comment.id, {"reports": cleared}
                    )
                if comment.status == Status.APPROVED:
                    if cleared:
                        changed.append(comment)
                    continue
                before = comment.status
                comment.status = Status.APPROVED
                comment.save(only=[Comment.status])
                bump_version(comment.thread_id)
                audit.record(actor, "approve", "comment", comment.id, {"from": before.value})
                self._decided(comment, spam_filter.HAM)
                self.events.comment_approved(comment)
                changed.append(comment)
        return changed

    def delete(self, ids: Iterable[Any], actor: Actor) -> list[Comment]:
        """Reject: erase the comments (a placeholder stays while one has replies)."""
        changed = []
        with write_transaction():
            for comment in self._batch(ids):
                if comment.status == Status.DELETED:
                    continue
                before = comment.status
                erase(comment, self.clock())
                bump_version(comment.thread_id)
                audit.record(actor, "delete", "comment", comment.id, {"from": before.value})
                self.events.comment_deleted(comment)
                changed.append(comment)
        return changed

    def mark_spam(self, ids: Iterable[Any], actor: Actor) -> list[Comment]:
        """Hide comments as spam; their content is kept for review."""
        changed = []
        with write_transaction():
            for comment in self._batch(ids):
                if comment.status == Status.DELETED:
                    raise Conflict(f"Comment {comment.id} was deleted.", code="comment_deleted")
                if comment.status == Status.SPAM:
                    continue
                before = comment.status
                comment.status = Status.SPAM
                comment.pinned = False
                comment.save(only=[Comment.status, Comment.pinned])
                bump_version(comment.thread_id)
                audit.record(actor, "spam", "comment", comment.id, {"from": before.value})
                self._decided(comment, spam_filter.SPAM)
                changed.append(comment)
        return changed

    def _decided(self, comment: Comment, label: str) -> None:
        """A moderator called ``comment`` spam or ham: the filter learns it (once; from the
        other class to this one when it is re-labelled), and Akismet hears of it."""
        spam_filter.learn(comment, label)
        if self.config.moderation.akismet_key and comment.text:
            spam.queue_feedback(comment, label == spam_filter.SPAM)

    def edit(self, comment_id: int, data: Mapping[str, Any], actor: Actor) -> Comment:
        """Change a comment's text, author or website, at any time."""
        settings = self.config.comments
        changes: dict[str, Any] = {}
        if "text" in data:
            text = validation.text(data.get("text"), max_length=settings.max_length)
            changes.update(text=text, text_hash=text_hash(text), html=render(text))
        if "author" in data:
            changes["author"] = validation.author(data.get("author"), required=False)
        if "website" in data:
            changes["website"] = validation.website(data.get("website"))
        if not changes:
            raise ValidationError(
                "Give text, author or website to change.", code="required", field="text"
            )
        with write_transaction():
            comment = self.comment(comment_id)
            if comment.status == Status.DELETED:
                raise Conflict(f"Comment {comment.id} was deleted.", code="comment_deleted")
            fields = sorted(
                k for k in changes if k not in DERIVED and getattr(comment, k) != changes[k]
            )
            if not fields:
                return comment
            before = spam_filter.comment_tokens(comment) if comment.filter_label else None
            for name, value in changes.items():
                setattr(comment, name, value)
            comment.modified = self.clock()
            comment.save()
            if before is not None:
                spam_filter.relearn(before, comment)
            bump_version(comment.thread_id)
            audit.record(actor, "edit", "comment", comment.id, {"fields": fields})
        return comment

    def pin(self, comment_id: int, pinned: bool, actor: Actor) -> Comment:
        """Pin a top-level approved comment to the top of its thread, or unpin it."""
        with write_transaction():
            comment = self.comment(comment_id)
            if pinned and comment.parent_id is not None:
                raise ValidationError(
                    "Only top-level comments can be pinned.", code="not_top_level", field="id"
                )
            if pinned and comment.status != Status.APPROVED:
                raise Conflict("Only approved comments can be pinned.", code="comment_not_approved")
            if comment.pinned == pinned:
                return comment
            comment.pinned = pinned
            comment.save(only=[Comment.pinned])
            bump_version(comment.thread_id)
            audit.record(actor, "pin" if pinned else "unpin", "comment", comment.id)
        return comment

    # -- thread actions -----------------------------------------------------------------

    def lock(self, key: int | str, locked: bool, actor: Actor) -> Thread:
        """Close a thread to new comments and votes, or open it again."""
        with write_transaction():
            thread = self.thread(key)
            if thread.locked == locked:
                return thread
            thread.locked = locked
            thread.version = thread.version + 1
            thread.save(only=[Thread.locked, Thread.version])
            audit.record(
                actor, "lock" if locked else "unlock", "thread", thread.id, {"uri": thread.uri}
            )
        return thread

    def rename(self, old: str, new: str, actor: Actor) -> Thread:
        """A page moved: give its thread the new uri, or merge it into the thread there."""
        new = validation.uri(new)
        with write_transaction():
            source = self.thread(old)
            if source.uri == new:
                return source
            target = Thread.get_or_none(Thread.uri == new)
            if target is None:
                source.uri = new
                source.version = source.version + 1
                source.save(only=[Thread.uri, Thread.version])
                audit.record(actor, "rename", "thread", source.id, {"from": old, "to": new})
                return source
            moved = Comment.update(thread=target.id).where(Comment.thread == source.id).execute()
            if source.created < target.created:
                target.created = source.created
            target.title = target.title or source.title
            target.version = target.version + 1
            target.save()
            source.delete_instance()
            audit.record(
                actor, "merge", "thread", target.id, {"from": old, "to": new, "comments": moved}
            )
            return target

    def delete_thread(self, key: int | str, actor: Actor) -> int:
        """Delete a thread and every comment in it; returns how many comments went."""
        with write_transaction():
            thread = self.thread(key)
            count = Comment.select().where(Comment.thread == thread.id).count()
            Comment.delete().where(Comment.thread == thread.id).execute()
            thread.delete_instance()
            audit.record(
                actor, "delete", "thread", thread.id, {"uri": thread.uri, "comments": count}
            )
        return count
