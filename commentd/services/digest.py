"""The admin's digest (``[mail] admin_digest = hourly | daily``): one mail per period.

Instead of a mail for each new comment, the admin gets, after each hour or day (UTC), one mail
listing the comments held for moderation and those published in that period, each with its
one-click moderation links. The outbox worker runs ``AdminDigest`` on each pass; whichever
process first inserts the period's ``DigestPeriod`` row (a unique key) queues the mail in the
same transaction, so however many processes run, a period is mailed once. A period no worker
ran in (the server was down) is not mailed afterwards; its held comments are in the next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlsplit

from peewee import IntegrityError

from commentd.config import Config
from commentd.services import mail, outbox
from commentd.services.keys import Keys, stored_secret
from commentd.services.notifications import Notifier
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, DigestPeriod, Status, Thread, utcnow

PERIODS = {"hourly": 3600, "daily": 86400}
MAX_LISTED = 100  # of each kind; the admin page has the rest
MAX_TEXT = 600


def last_period(kind: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of the last whole hour or day (UTC) before ``now``."""
    length = dt.timedelta(seconds=PERIODS[kind])
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = midnight + ((now - midnight) // length) * length
    return end - length, end


def site_keys(config: Config) -> Keys:
    """The site's keys, as ``open_site`` derives them (for a worker built without them)."""
    return Keys.from_secret(config.security.secret or stored_secret())


class AdminDigest:
    """One outbox worker step: claim and mail the last whole period, once."""

    def __init__(self, config: Config, keys: Callable[[], Keys] | Keys | None = None):
        self.config = config
        self._keys = keys
        self._notifier: Notifier | None = None

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            keys = self._keys
            if keys is None:
                keys = site_keys(self.config)
            elif callable(keys):
                keys = keys()
            self._notifier = Notifier(self.config, keys)
        return self._notifier

    def __call__(self, now: dt.datetime) -> DigestPeriod | None:
        return self.run(now)

    def run(self, now: dt.datetime | None = None) -> DigestPeriod | None:
        """Mail the last whole period if no process did; the claimed period, else None."""
        settings = self.config.mail
        kind = settings.admin_digest
        if kind not in PERIODS or not settings.enabled or not settings.admin:
            return None
        start, end = last_period(kind, now or utcnow())
        name = f"{kind} {start:%Y-%m-%dT%H:%M}"
        if DigestPeriod.select().where(DigestPeriod.period == name).exists():
            return None  # the common case, without taking the write lock
        try:
            with write_transaction():
                claimed = DigestPeriod.create(period=name, claimed=utcnow())
                claimed.comments = self._queue(kind, start, end)
                claimed.save(only=[DigestPeriod.comments])
        except IntegrityError:
            return None  # another process claimed it at the same moment
        return claimed

    def _queue(self, kind: str, start: dt.datetime, end: dt.datetime) -> int:
        """Queue the period's mail; the number of comments it lists (0: none, no mail)."""
        listed = Comment.select(Comment, Thread).join(Thread)
        held = list(
            listed.where((Comment.status == Status.PENDING) & (Comment.created < end))
            .order_by(Comment.created, Comment.id)
            .limit(MAX_LISTED)
        )
        new = list(
            listed.where(
                (Comment.status == Status.APPROVED)
                & (Comment.created >= start)
                & (Comment.created < end)
            )
            .order_by(Comment.created, Comment.id)
            .limit(MAX_LISTED)
        )
        if not held and not new:
            return 0
        settings = self.config.mail
        site = urlsplit(self.notifier.blog_url()).netloc
        span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        lines = [f"Comments on {site}, {span}.", ""]
        for title, comments in (("Held for moderation", held), ("New", new)):
            if comments:
                lines += [f"{title} ({len(comments)}):", ""]
                lines += [line for c in comments for line in self._entry(c)]
        expires = utcnow() + dt.timedelta(seconds=settings.link_expiry)
        lines.append(
            f"Each link works once, until {expires:%Y-%m-%d %H:%M} UTC, and asks you to "
            "confirm before it acts."
        )
        subject = f"{len(held)} held and {len(new)} new comments on {site} ({kind} digest)"
        outbox.enqueue(
            mail.KIND,
            settings.admin,
            mail.payload(settings, settings.admin, subject, "\n".join(lines) + "\n"),
        )
        return len(held) + len(new)

    def _entry(self, comment: Comment) -> list[str]:
        thread = comment.thread
        text = comment.text if len(comment.text) <= MAX_TEXT else comment.text[:MAX_TEXT] + "…"
        return [
            f"{comment.author or 'Anonymous'} on {thread.title or thread.uri}, "
            f"{comment.created:%Y-%m-%d %H:%M} UTC:",
            *("    " + line for line in text.splitlines() or [""]),
            f"Thread: {self.notifier.page_url(thread, comment)}",
            *self.notifier.moderation_links(comment),
            "",
        ]
