"""Signed links in mails: one-click moderation (single use, expiring) and unsubscribe.

A moderation token is ``<action>.<comment id>.<expiry>.<nonce>.<signature>``, the signature an
HMAC-SHA256 under the site's moderation-link key. Using one stores its nonce in ``UsedToken``
in the same transaction as the action, so a link works once even when clicked twice at the
same moment. An unsubscribe token is ``<thread id>.<email digest>.<signature>``: it names no
address, never expires, and unsubscribing twice is harmless.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from peewee import IntegrityError

from commentd.config import Config
from commentd.errors import CommentdError, Conflict
from commentd.services.audit import Actor
from commentd.services.keys import Keys
from commentd.services.moderation import ModerationService
from commentd.services.signing import INVALID, check, sign, unix
from commentd.services.subscriptions import address_digest
from commentd.services.validation import whole_number
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, Status, Thread, UsedToken, utcnow

ACTIONS = ("approve", "delete", "spam")
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class ModerationLink:
    """What a moderation token says: do ``action`` to ``comment_id`` until ``expires``."""

    action: str
    comment_id: int
    expires: dt.datetime
    nonce: str


def moderation_token(keys: Keys, action: str, comment_id: int, expires: dt.datetime) -> str:
    """A fresh single-use token for one action on one comment."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    body = f"{action}.{comment_id}.{unix(expires)}.{secrets.token_urlsafe(12)}"
    return f"{body}.{sign(keys.moderation_link, 'moderate:' + body)}"


def read_moderation_token(keys: Keys, token: str, now: dt.datetime) -> ModerationLink:
    """The link a token stands for; ``invalid_link`` (404) or ``link_expired`` (410)."""
    parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
    comment_id, stamp = (
        (whole_number(parts[1]), whole_number(parts[2])) if len(parts) == 5 else (None, None)
    )
    if (
        comment_id is None
        or stamp is None
        or parts[0] not in ACTIONS
        or not 8 <= len(parts[3]) <= 64
    ):
        raise INVALID
    body = ".".join(parts[:4])
    check(keys.moderation_link, "moderate:" + body, parts[4])
    expires = dt.datetime.fromtimestamp(stamp, dt.timezone.utc).replace(tzinfo=None)
    if expires <= now:
        raise CommentdError(
            "This link has expired; moderate the comment on the admin page.",
            code="link_expired",
            status=410,
        )
    return ModerationLink(parts[0], comment_id, expires, parts[3])


@dataclass(frozen=True)
class Pending:
    """A moderation link checked for use: the action and the comment it would act on."""

    link: ModerationLink
    comment: Comment


@dataclass(frozen=True)
class Unsubscription:
    """An unsubscribe link checked: the thread, and the digest of the address it stands for."""

    thread: Thread
    digest: str


class LinkService:
    """What the pages behind mailed links do."""

    def __init__(
        self,
        config: Config,
        keys: Keys,
        moderation: ModerationService | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.config = config
        self.keys = keys
        self.moderation = moderation or ModerationService(config)
        self.clock = clock

    # -- moderation links ---------------------------------------------------------------

    def issue(self, action: str, comment_id: int) -> str:
        """A token for ``action`` on ``comment_id``, valid for ``[mail] link_expiry``."""
        expires = self.clock() + dt.timedelta(seconds=self.config.mail.link_expiry)
        return moderation_token(self.keys, action, comment_id, expires)

    def inspect(self, token: str) -> Pending:
        """Check a link without using it (what a GET shows)."""
        link = read_moderation_token(self.keys, token, self.clock())
        if UsedToken.get_or_none(UsedToken.nonce == link.nonce) is not None:
            raise _used()
        return Pending(link, self.moderation.comment(link.comment_id))

    def use(self, token: str, address: str | None) -> Pending:
        """Take the link's action once, as the admin by mail; a second use is refused."""
        link = read_moderation_token(self.keys, token, self.clock())
        actor = Actor("email", name=self.config.mail.admin or None, address=address)
        act = {
            "approve": self.moderation.approve,
            "delete": self.moderation.delete,
            "spam": self.moderation.mark_spam,
        }[link.action]
        try:
            with write_transaction():
                if UsedToken.get_or_none(UsedToken.nonce == link.nonce) is not None:
                    raise _used()
                UsedToken.create(nonce=link.nonce, used=self.clock(), expires=link.expires)
                act([link.comment_id], actor)
        except IntegrityError:
            raise _used() from None  # the same link, used at the same moment elsewhere
        self._forget_expired()
        return Pending(link, self.moderation.comment(link.comment_id))

    def _forget_expired(self) -> None:
        with write_transaction():
            UsedToken.delete().where(UsedToken.expires < self.clock()).execute()

    # -- unsubscribe links --------------------------------------------------------------

    def unsubscribe_token(self, thread_id: int, email: str) -> str:
        """A lasting token that stops reply mails to ``email`` in one thread."""
        body = f"{thread_id}.{address_digest(self.keys, email)}"
        return f"{body}.{sign(self.keys.unsubscribe, 'unsubscribe:' + body)}"

    def unsubscription(self, token: str) -> Unsubscription:
        """Check an unsubscribe link (what a GET shows)."""
        parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
        thread_id = whole_number(parts[0]) if len(parts) == 3 else None
        if thread_id is None or len(parts[1]) != 32:
            raise INVALID
        check(self.keys.unsubscribe, f"unsubscribe:{parts[0]}.{parts[1]}", parts[2])
        thread = Thread.get_or_none(Thread.id == thread_id)
        if thread is None:
            raise INVALID
        return Unsubscription(thread, parts[1])

    def unsubscribe(self, token: str) -> Unsubscription:
        """Turn every notification of that address in that thread off: replies to its
        comments and new comments in the thread. The address stays confirmed."""
        found = self.unsubscription(token)
        with write_transaction():
            subscribed = Comment.select(Comment.id, Comment.email).where(
                (Comment.thread == found.thread)
                & ((Comment.notify == True) | (Comment.notify_thread == True))  # noqa: E712
            )
            ids = [
                c.id
                for c in subscribed
                if c.email and address_digest(self.keys, c.email) == found.digest
            ]
            if ids:
                Comment.update(notify=False, notify_thread=False).where(
                    Comment.id.in_(ids)
                ).execute()
        return found


def _used() -> Conflict:
    return Conflict("This link was already used.", code="link_used")


def comment_is(comment: Comment, action: str) -> bool:
    """Whether ``comment`` is already where ``action`` would put it."""
    target = {"approve": Status.APPROVED, "delete": Status.DELETED, "spam": Status.SPAM}[action]
    return comment.status == target
