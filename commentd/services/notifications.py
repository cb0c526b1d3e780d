"""Turning comment events into outbox messages: mail to the admin, reply mail, webhooks.

Every method runs inside the write transaction of the change that caused it and only queues
rows (``outbox.enqueue``), so nothing is sent for a change that rolls back, and nothing slow
happens while the transaction is open. Comments screened as spam send nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from commentd.config import Config
from commentd.services import mail, outbox, webhooks
from commentd.services.i18n import translator
from commentd.services.keys import Keys
from commentd.services.links import LinkService
from commentd.storage.models import Comment, Status, Thread, utcnow


def _iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


class Notifier:
    """Listens to comment events and queues what they should send (see ``events.Events``)."""

    def __init__(self, config: Config, keys: Keys):
        self.config = config
        self.keys = keys
        self.links = LinkService(config, keys)
        mail, hooks = config.mail, config.webhooks
        # Nothing configured: events cost nothing (not even reading the thread).
        self.silent = not hooks.urls and not (
            mail.enabled and (mail.admin or mail.reply_notifications)
        )

    # -- events -------------------------------------------------------------------------

    def comment_created(self, comment: Comment) -> None:
        if self.silent or comment.status == Status.SPAM:
            return
        thread = Thread.get_by_id(comment.thread_id)
        self._admin_mail(comment, thread)
        self._webhooks("comment.created", comment, thread)
        if comment.status == Status.APPROVED:
            self._reply_mail(comment, thread)

    def comment_approved(self, comment: Comment) -> None:
        if self.silent:
            return
        thread = Thread.get_by_id(comment.thread_id)
        self._reply_mail(comment, thread)
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
        origins = self.config.server.allowed_origins
        base = origins[0] if origins else self.config.public_url
        return f"{base.rstrip('/')}{thread.uri}#c{comment.id}"

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
        actions = (("Approve", "approve"),) if held else ()
        actions += (("Delete", "delete"), ("Mark as spam", "spam"))
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
        for label, action in actions:
            token = self.links.issue(action, comment.id)
            lines.append(f"{label}: {self.config.public_url}/moderate/{token}")
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

    def _reply_mail(self, comment: Comment, thread: Thread) -> None:
        settings = self.config.mail
        if not (settings.enabled and settings.reply_notifications) or comment.parent_id is None:
            return
        if comment.status != Status.APPROVED:
            return
        parent = Comment.get_or_none(Comment.id == comment.parent_id)
        if parent is None or not parent.notify or not parent.email:
            return
        if parent.status != Status.APPROVED:
            return
        if comment.email and comment.email.strip().lower() == parent.email.strip().lower():
            return  # replying to yourself
        # in the language of the page the subscriber wrote on
        t = translator(parent.lang or "en")
        where = thread.title or thread.uri
        author = comment.author or t("anonymous")
        unsubscribe = (
            f"{self.config.public_url}/unsubscribe/"
            f"{self.links.unsubscribe_token(thread.id, parent.email)}"
        )
        text = "\n".join(
            [
                t("mail_reply_intro", author=author, where=where),
                "",
                comment.text,
                "",
                t("mail_reply_read", url=self.page_url(thread, comment)),
                "",
                t("mail_reply_why"),
                t("mail_reply_stop", url=unsubscribe),
            ]
        )
        outbox.enqueue(
            mail.KIND,
            parent.email,
            mail.payload(
                settings,
                parent.email,
                t("mail_reply_subject", author=author, where=where),
                text + "\n",
                to_name=parent.author,
                headers={
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            ),
        )
