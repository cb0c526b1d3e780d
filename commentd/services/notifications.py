"""Turning comment events into outbox messages: mail to the admin, notifications, webhooks.

Every method runs inside the write transaction of the change that caused it and only queues
rows (``outbox.enqueue``), so nothing is sent for a change that rolls back, and nothing slow
happens while the transaction is open. Comments screened as spam send nothing, and readers are
mailed only about approved comments: a held one mails them once a moderator approves it.

Readers' notifications are double opt-in (``subscriptions``): the first mail an address gets
is a confirmation mail, and nothing else until its link is followed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from commentd.config import Config
from commentd.services import mail, normal, outbox, webhooks
from commentd.services.i18n import translator
from commentd.services.keys import Keys
from commentd.services.links import LinkService
from commentd.services.subscriptions import Subscriptions, address_digest, asks
from commentd.storage.models import Comment, Status, Thread, utcnow

ADMIN_ACTIONS = (("Approve", "approve"), ("Delete", "delete"), ("Mark as spam", "spam"))


def _iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


class Notifier:
    """Listens to comment events and queues what they should send (see ``events.Events``)."""

    def __init__(self, config: Config, keys: Keys):
        self.config = config
        self.keys = keys
        self.links = LinkService(config, keys)
        self.subscriptions = Subscriptions(config, keys)
        mail, hooks = config.mail, config.webhooks
        # Nothing configured: events cost nothing (not even reading the thread).
        self.silent = not hooks.urls and not (
            mail.enabled and (mail.admin or mail.reply_notifications or mail.thread_notifications)
        )

    # -- events -------------------------------------------------------------------------

    def comment_created(self, comment: Comment) -> None:
        if self.silent or comment.status == Status.SPAM:
            return
        thread = Thread.get_by_id(comment.thread_id)
        if self.config.mail.admin_digest == "off":
            self._admin_mail(comment, thread)
        self._webhooks("comment.created", comment, thread)
        if comment.status == Status.APPROVED:
            self._published(comment, thread)

    def comment_approved(self, comment: Comment) -> None:
        if self.silent:
            return
        thread = Thread.get_by_id(comment.thread_id)
        self._published(comment, thread)
        self._webhooks("comment.approved", comment, thread)

    def comment_deleted(self, comment: Comment) -> None:
        if self.silent:
            return
        self._webhooks("comment.deleted", comment, Thread.get_by_id(comment.thread_id))

    def comment_hidden(self, comment: Comment, reports: int) -> None:
        if self.silent:
            return
        thread = Thread.get_by_id(comment.thread_id)
        self._admin_mail(comment, thread, reports=reports)
        self._webhooks("comment.hidden", comment, thread)

    # -- what a comment looks like to the outside ---------------------------------------

    def page_url(self, thread: Thread, comment: Comment) -> str:
        """The comment on the blog's page: its first allowed origin (else commentd's public
        URL), the thread's uri and the embed's anchor ``#c<id>``."""
        return f"{self.blog_url()}{thread.uri}#c{comment.id}"

    def _public(self, comment: Comment, thread: Thread) -> dict[str, Any]:
        return {
            "id": comment.id,
            "uri": thread.uri,
            "parent": comment.parent_id,
            "author": comment.author,
            "text": comment.text,
            "html": comment.html,
            "status": comment.status.value,
            "created": _iso(comment.created),
            "url": self.page_url(thread, comment),
        }

    # -- webhooks -----------------------------------------------------------------------

    def _webhooks(self, event: str, comment: Comment, thread: Thread) -> None:
        settings = self.config.webhooks
        if not settings.urls:
            return
        body = webhooks.body(settings.format, event, self._public(comment, thread), _iso(utcnow()))
        for url in settings.urls:
            outbox.enqueue(webhooks.KIND, url, {"event": event, "body": body})

    # -- mail ---------------------------------------------------------------------------

    def _admin_mail(self, comment: Comment, thread: Thread, reports: int = 0) -> None:
        """The moderation mail for a new comment, or (``reports``) for one hidden after that
        many readers reported it."""
        settings = self.config.mail
        if not settings.enabled or not settings.admin:
            return
        where = thread.title or thread.uri
        author = comment.author or "Anonymous"
        held = comment.status == Status.PENDING
        expires = utcnow() + dt.timedelta(seconds=settings.link_expiry)
        if reports:
            intro = f"{author}'s comment on {where} was hidden after {reports} reports:"
            subject = f"Comment by {author} on {where} hidden after {reports} reports"
        else:
            intro = f"{author} {'wrote (held for moderation)' if held else 'wrote'} on {where}:"
            subject = f"{'Held' if held else 'New'} comment by {author} on {where}"
        lines = [
            intro,
            "",
            comment.text,
            "",
            f"Thread: {self.page_url(thread, comment)}",
        ]
        if comment.website:
            lines.append(f"Website given: {comment.website}")
        lines.append("")
        lines += self.moderation_links(comment)
        lines += [
            "",
            f"Each link works once, until {expires:%Y-%m-%d %H:%M} UTC, and asks you to "
            "confirm before it acts.",
        ]
        outbox.enqueue(
            mail.KIND,
            settings.admin,
            mail.payload(settings, settings.admin, subject, "\n".join(lines) + "\n"),
        )

    def moderation_links(self, comment: Comment) -> list[str]:
        """``Approve: <url>`` (for a held comment), ``Delete: ...`` and ``Mark as spam: ...``,
        one fresh single-use link each."""
        held = comment.status == Status.PENDING
        return [
            f"{label}: {self.config.public_url}/moderate/{self.links.issue(action, comment.id)}"
            for label, action in ADMIN_ACTIONS
            if held or action != "approve"
        ]

    # -- readers' notifications ---------------------------------------------------------

    def _published(self, comment: Comment, thread: Thread) -> None:
        """``comment`` is approved now: ask its author to confirm what they asked for, and
        tell whoever asked to hear about it."""
        settings = self.config.mail
        if not settings.enabled:
            return
        if self._wants(comment):
            self._ask(comment, thread)
        told = self._reply_mail(comment, thread)
        if settings.thread_notifications:
            self._thread_mails(comment, thread, told)

    def _wants(self, comment: Comment) -> bool:
        settings = self.config.mail
        return asks(comment) and (
            (comment.notify and settings.reply_notifications)
            or (comment.notify_thread and settings.thread_notifications)
        )

    def _ask(self, asker: Comment, thread: Thread) -> None:
        """The confirmation mail for ``asker``'s address, unless it is confirmed, was just
        asked, or a limit is reached."""
        subscriber = self.subscriptions.ask(asker)
        if subscriber is None:
            return
        t = translator(subscriber.lang or "en")
        url = f"{self.config.public_url}/confirm/{self.subscriptions.confirm_token(subscriber)}"
        site = urlsplit(self.blog_url()).netloc
        text = "\n".join(
            [
                t("mail_confirm_intro", where=self.blog_url() + thread.uri),
                "",
                t("mail_confirm_link", url=url),
                "",
                t("mail_confirm_ignore"),
            ]
        )
        outbox.enqueue(
            mail.KIND,
            subscriber.email,
            mail.payload(
                self.config.mail,
                subscriber.email,
                t("mail_confirm_subject", site=site),
                text + "\n",
            ),
        )

    def _tell(self, asker: Comment, thread: Thread, send: Callable[[], None]) -> bool:
        """``send()`` if ``asker``'s address is confirmed; else ask it to confirm, if it
        never was (it subscribed before confirmations, or its asking hit a limit)."""
        subscriber = self.subscriptions.subscriber(asker.email)
        if subscriber is not None and subscriber.confirmed is not None:
            send()
            return True
        if subscriber is None or subscriber.asked is None:
            self._ask(asker, thread)
        return False

    def _reply_mail(self, comment: Comment, thread: Thread) -> str | None:
        """The reply notification to the parent's author; the digest of the address it
        concerned (told, or asked to confirm), so the thread's mails skip it."""
        settings = self.config.mail
        if not settings.reply_notifications or comment.parent_id is None:
            return None
        if comment.status != Status.APPROVED:
            return None
        parent = Comment.get_or_none(Comment.id == comment.parent_id)
        if parent is None or not parent.notify or not parent.email:
            return None
        if parent.status != Status.APPROVED:
            return None
        if _same_address(comment, parent):
            return None  # replying to yourself
        self._notification(parent, thread, comment, "reply")
        return address_digest(self.keys, parent.email)

    def _thread_mails(self, comment: Comment, thread: Thread, told: str | None) -> None:
        """A mail to each address that asked for every new comment in ``thread``: one per
        address, not to the comment's author, nor to whom its reply mail went."""
        askers = (
            Comment.select()
            .where(
                (Comment.thread == thread.id)
                & (Comment.notify_thread == True)  # noqa: E712
                & (Comment.status == Status.APPROVED)
                & Comment.email.is_null(False)
            )
            .order_by(Comment.created.desc(), Comment.id.desc())
        )
        seen = {told} if told else set()
        if comment.email:
            seen.add(address_digest(self.keys, comment.email))
        for asker in askers:
            digest = address_digest(self.keys, asker.email)
            if digest in seen:
                continue
            seen.add(digest)
            self._notification(asker, thread, comment, "thread")

    def _notification(self, asker: Comment, thread: Thread, comment: Comment, kind: str) -> None:
        """Tell ``asker``'s address about ``comment``, in the words for ``kind`` (``reply``:
        a reply to its comment, ``thread``: a new comment in the thread), in its language."""
        t = translator(asker.lang or "en")
        where = thread.title or thread.uri
        author = comment.author or t("anonymous")
        self._tell(
            asker,
            thread,
            lambda: self._subscriber_mail(
                asker,
                thread,
                t(f"mail_{kind}_subject", author=author, where=where),
                [
                    t(f"mail_{kind}_intro", author=author, where=where),
                    "",
                    comment.text,
                    "",
                    t(f"mail_{kind}_read", url=self.page_url(thread, comment)),
                    "",
                    t(f"mail_{kind}_why"),
                ],
            ),
        )

    def _subscriber_mail(
        self, asker: Comment, thread: Thread, subject: str, lines: list[str]
    ) -> None:
        """A notification to ``asker``'s address, with its one-click unsubscribe link in the
        text and in the headers (RFC 2369, RFC 8058)."""
        t = translator(asker.lang or "en")
        unsubscribe = (
            f"{self.config.public_url}/unsubscribe/"
            f"{self.links.unsubscribe_token(thread.id, asker.email)}"
        )
        text = "\n".join([*lines, t("mail_reply_stop", url=unsubscribe)])
        outbox.enqueue(
            mail.KIND,
            asker.email,
            mail.payload(
                self.config.mail,
                asker.email,
                subject,
                text + "\n",
                to_name=asker.author,
                headers={
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            ),
        )

    def blog_url(self) -> str:
        """The blog's origin: the first allowed origin, else commentd's public URL."""
        origins = self.config.server.allowed_origins
        return (origins[0] if origins else self.config.public_url).rstrip("/")


def _same_address(one: Comment, other: Comment) -> bool:
    return bool(one.email and other.email) and normal.email(one.email) == normal.email(other.email)
