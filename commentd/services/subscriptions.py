"""Double opt-in for notifications: who asked, who confirmed, and the confirmation links.

An address that ticks "notify me" (replies) or "every new comment in this thread" gets one
confirmation mail, once the comment that asked is approved (a held or spam comment mails
nobody), and nothing else until it follows the link; then it stays confirmed for the site.
Confirmation mails are limited per client network (``[ratelimit] confirmations_per_network``
per hour, counted against the network of the comment that asked) and per address
(``confirmations_per_address`` per day), and are not sent again within an hour of the last.

A confirmation token is ``<address digest>.<expiry>.<signature>``: it names no address. The
digest is the one unsubscribe links carry (``address_digest``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from commentd.config import Config
from commentd.errors import CommentdError
from commentd.services import normal
from commentd.services.keys import Keys, keyed_hash
from commentd.services.signing import INVALID, check, sign, unix
from commentd.services.validation import whole_number
from commentd.storage import writes
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, Subscriber, utcnow

HOUR, DAY = 3600, 86400
ASK_AGAIN_AFTER = dt.timedelta(hours=1)
MAX_TOKEN_LENGTH = 200
DIGEST_LENGTH = 32

State = Literal["confirmed", "unconfirmed"]


def address_digest(keys: Keys, email: str) -> str:
    """The keyed hash that stands for an address in links and in ``Subscriber.digest``."""
    return keyed_hash(keys.unsubscribe, "email:" + normal.email(email), DIGEST_LENGTH)


def asks(comment: Comment) -> bool:
    """Whether ``comment`` asked for any notification."""
    return bool(comment.email) and bool(comment.notify or comment.notify_thread)


class Subscriptions:
    """The opt-in state of addresses, and their confirmation links."""

    def __init__(self, config: Config, keys: Keys, clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.keys = keys
        self.clock = clock

    # -- state --------------------------------------------------------------------------

    def subscriber(self, email: str) -> Subscriber | None:
        return Subscriber.get_or_none(Subscriber.digest == address_digest(self.keys, email))

    def is_confirmed(self, email: str) -> bool:
        """Whether ``email`` followed a confirmation link (for this site)."""
        found = self.subscriber(email)
        return found is not None and found.confirmed is not None

    def state(self, comment: Comment) -> State | None:
        """What the author of a new comment is told: ``confirmed`` (mails will come),
        ``unconfirmed`` (a confirmation mail comes first), or None (nothing was asked, or
        this site sends no notifications)."""
        mail = self.config.mail
        wanted = (comment.notify and mail.reply_notifications) or (
            comment.notify_thread and mail.thread_notifications
        )
        if not (mail.enabled and wanted and comment.email):
            return None
        return "confirmed" if self.is_confirmed(comment.email) else "unconfirmed"

    # -- asking -------------------------------------------------------------------------

    def ask(self, comment: Comment) -> Subscriber | None:
        """Inside a write transaction: the subscriber to send a confirmation mail to for
        ``comment``'s address, marked as asked now; None when it is confirmed already, was
        asked within the hour, or a limit is reached."""
        email = comment.email
        digest = address_digest(self.keys, email)
        now = self.clock()
        # Two comments of one address at once: one insert wins, both read the same row.
        Subscriber.insert(
            digest=digest, email=email.strip(), lang=comment.lang, created=now
        ).on_conflict_ignore().execute()
        found = Subscriber.get(Subscriber.digest == digest)
        if found.confirmed is not None:
            return None
        if found.asked is not None and now - found.asked < ASK_AGAIN_AFTER:
            return None
        limits = self.config.ratelimit
        network = comment.remote_addr or "unknown"
        if not _within(f"confirm:{HOUR}:{network}", HOUR, limits.confirmations_per_network):
            return None
        if not _within(f"confirm-address:{DAY}:{digest}", DAY, limits.confirmations_per_address):
            return None
        found.asked = now
        found.lang = comment.lang or found.lang
        found.save(only=[Subscriber.asked, Subscriber.lang])
        return found

    # -- confirmation links -------------------------------------------------------------

    def confirm_token(self, subscriber: Subscriber) -> str:
        """A token that confirms ``subscriber`` until ``[mail] link_expiry`` from now."""
        expires = self.clock() + dt.timedelta(seconds=self.config.mail.link_expiry)
        body = f"{subscriber.digest}.{unix(expires)}"
        return f"{body}.{sign(self.keys.subscription, 'confirm:' + body)}"

    def confirmation(self, token: str) -> Subscriber:
        """The subscriber a confirmation token stands for (what a GET shows):
        ``invalid_link`` (404) or ``link_expired`` (410)."""
        parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
        stamp = whole_number(parts[1]) if len(parts) == 3 else None
        if stamp is None or len(parts[0]) != DIGEST_LENGTH:
            raise INVALID
        check(self.keys.subscription, f"confirm:{parts[0]}.{parts[1]}", parts[2])
        if stamp <= unix(self.clock()):
            raise CommentdError(
                "This link has expired; tick the box again with your next comment.",
                code="link_expired",
                status=410,
            )
        found = Subscriber.get_or_none(Subscriber.digest == parts[0])
        if found is None:  # erased since (commentd privacy delete)
            raise INVALID
        return found

    def confirm(self, token: str) -> Subscriber:
        """Confirm the token's address; confirming twice is harmless."""
        found = self.confirmation(token)
        if found.confirmed is None:
            with write_transaction():
                Subscriber.update(confirmed=self.clock()).where(
                    (Subscriber.id == found.id) & Subscriber.confirmed.is_null()
                ).execute()
            found = Subscriber.get_by_id(found.id)
        return found


def _within(key: str, length: int, allowed: int) -> bool:
    """Count one hit for ``key`` in its current window; whether that stays within
    ``allowed`` (0: no limit)."""
    if not allowed:
        return True
    now = int(utcnow().replace(tzinfo=dt.timezone.utc).timestamp())
    number = now // length
    hits = writes.count_hit(key, number, (number + 1) * length)
    if hits == 1:
        writes.forget_hits_before(now)
    return hits <= allowed
