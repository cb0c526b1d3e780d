"""The tables: threads, comments, votes, reports and site settings.

All times are naive UTC ``datetime`` values. Markdown source and its rendered HTML are both
stored: HTML is produced once, at write time, and never re-rendered on read. Author, website
and title are stored as the plain text the reader sent; clients escape them on output.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib

from peewee import (
    SQL,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from commentd.storage.database import database_proxy


def text_hash(text: str) -> int | None:
    """``comment.text_hash``: 64 bits of the text's SHA-256, so the same text is found by index
    (a double post); None for no text."""
    if not text:
        return None
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def utcnow() -> dt.datetime:
    """The current time as a naive UTC datetime, the form every table stores."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Status(str, enum.Enum):
    """A comment's moderation state."""

    APPROVED = "approved"
    PENDING = "pending"
    DELETED = "deleted"
    SPAM = "spam"


class StatusField(CharField):
    """Stores a :class:`Status` as its short string value."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=16, **kwargs)

    def db_value(self, value):
        return Status(value).value if value is not None else None

    def python_value(self, value):
        return Status(value) if value is not None else None


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Setting(BaseModel):
    """Site-wide values the server keeps for itself, such as the generated secret."""

    key = CharField(max_length=64, primary_key=True)
    value = TextField()


class Thread(BaseModel):
    """One page's comment thread, keyed by the page's URI path."""

    uri = CharField(max_length=1024, unique=True)
    title = CharField(max_length=512, null=True)
    created = DateTimeField(default=utcnow)
    locked = BooleanField(default=False)
    version = IntegerField(default=0)


class Comment(BaseModel):
    """A comment. ``email`` and ``remote_addr`` are private and never leave the server."""

    thread = ForeignKeyField(Thread, backref="comments", on_delete="CASCADE", index=False)
    parent = ForeignKeyField("self", null=True, backref="replies", on_delete="SET NULL")
    author = CharField(max_length=256, null=True)
    email = CharField(max_length=256, null=True)
    website = CharField(max_length=512, null=True)
    text = TextField()
    text_hash = BigIntegerField(null=True)  # text_hash(text), kept by every write of text
    html = TextField()
    created = DateTimeField(default=utcnow, index=True)
    modified = DateTimeField(null=True)
    status = StatusField(default=Status.APPROVED)
    likes = IntegerField(default=0)  # likes_base + the +1 vote rows (storage/tallies.py)
    dislikes = IntegerField(default=0)
    likes_base = IntegerField(default=0)  # votes counted before there were rows: an import's
    dislikes_base = IntegerField(default=0)
    remote_addr = CharField(max_length=64, null=True)
    voter = CharField(max_length=64, null=True)  # the author's address, as a vote's keyed hash
    reader = CharField(max_length=64, null=True)  # the author's reader id, as a keyed hash
    lang = CharField(max_length=16, null=True)  # the page's language, for the reply mails
    notify = BooleanField(default=False)  # mail replies to it (once its address is confirmed)
    notify_thread = BooleanField(default=False)  # mail every new comment in its thread, as well
    idempotency_key = CharField(max_length=64, null=True, unique=True)
    pinned = BooleanField(default=False)
    # The screening signal that held it or marked it spam (a ``SIGNALS`` name), NULL when
    # nothing caught it; and the class ("spam" or "ham") it trained the filter with, if any.
    caught_by = CharField(max_length=16, null=True)
    filter_label = CharField(max_length=8, null=True)
    # How it came: "comment" (posted here), or by Webmention "reply" or "mention", then with
    # ``source``, the page on the other site, and ``photo``, its author's picture (https).
    kind = CharField(max_length=16, default="comment")
    source = CharField(max_length=1024, null=True)
    photo = CharField(max_length=1024, null=True)
    # its author's picture once kept here (``Avatar.digest``): served from commentd's origin
    picture = CharField(max_length=64, null=True)

    class Meta:
        indexes = (
            (("thread", "status", "created"), False),
            (("email",), False),
            (("thread", "text_hash"), False),
            (("reader",), False),  # a reader's approved history, for proof of work
            (("remote_addr", "created"), False),  # a network's bursts and history
        )


class Vote(BaseModel):
    """One voter's vote on one comment: +1 or -1.

    ``voter`` is a keyed hash of the reader id the embed sent, or of the client's address
    without one; ``network`` a keyed hash of the client's network, for the per-network cap
    (NULL on votes stored before it, which were all keyed by address).
    """

    comment = ForeignKeyField(Comment, backref="votes", on_delete="CASCADE")
    voter = CharField(max_length=64)
    value = IntegerField(constraints=[SQL("CHECK (value IN (-1, 1))")])
    created = DateTimeField(default=utcnow)
    network = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("comment", "voter"), True),)


class Report(BaseModel):
    """One reader's report of one comment: ``reporter`` is the keyed hash a vote's ``voter``
    would be, ``reason`` one of ``REPORT_REASONS``."""

    comment = ForeignKeyField(Comment, backref="reports", on_delete="CASCADE")
    reporter = CharField(max_length=64)
    reason = CharField(max_length=16)
    created = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("comment", "reporter"), True),)


class RateHit(BaseModel):
    """How many times one key (an action by one client network) acted in one time window.

    Kept in the database, not in memory, so limits hold across every process of a site.
    """

    key = CharField(max_length=128)
    window = IntegerField()
    hits = IntegerField(default=0)
    expires = IntegerField(index=True)

    class Meta:
        indexes = ((("key", "window"), True),)


class AuditEntry(BaseModel):
    """One moderation action: who (actor kind and name), from where, what, on what, when."""

    created = DateTimeField(default=utcnow, index=True)
    actor = CharField(max_length=32)
    actor_name = CharField(max_length=256, null=True)
    address = CharField(max_length=64, null=True)
    action = CharField(max_length=32)
    target_type = CharField(max_length=16)
    target_id = IntegerField(null=True)
    detail = TextField(default="")


class OutboxStatus(str, enum.Enum):
    """Where a queued mail or webhook stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(BaseModel):
    """A mail or webhook waiting to go out, written in the same transaction as its cause.

    A worker leases a row (``lease_until``) while sending, so a crash mid-send only delays it.
    """

    kind = CharField(max_length=16)
    recipient = CharField(max_length=1024)
    payload = TextField()
    status = CharField(max_length=16, default=OutboxStatus.PENDING.value)
    attempts = IntegerField(default=0)
    next_attempt = DateTimeField(default=utcnow)
    lease_until = DateTimeField(null=True)
    last_error = TextField(null=True)
    created = DateTimeField(default=utcnow)
    sent = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt"), False),)


class UsedToken(BaseModel):
    """A single-use link that has been used, kept until it would have expired anyway."""

    nonce = CharField(max_length=64, primary_key=True)
    used = DateTimeField(default=utcnow)
    expires = DateTimeField(index=True)


class Ban(BaseModel):
    """Who or what may not comment: an email (or ``@domain``), a network, or a word."""

    kind = CharField(max_length=8)
    value = CharField(max_length=256)
    created = DateTimeField(default=utcnow)
    reason = CharField(max_length=256, null=True)

    class Meta:
        indexes = ((("kind", "value"), True),)


class FilterToken(BaseModel):
    """The spam filter's model: for one token (a 64-bit hash of a word, a linked domain or an
    author field), how many spam and ham comments it was seen in. The row of token
    ``TOTALS_TOKEN`` counts the comments themselves. Changed only by atomic increments."""

    token = BigIntegerField(primary_key=True)
    spam = IntegerField(default=0)
    ham = IntegerField(default=0)


class Refusal(BaseModel):
    """How many comments one screening signal refused on one day (UTC) without storing them."""

    day = DateField()
    signal = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "signal"), True),)


TOTALS_TOKEN = 0


class Subscriber(BaseModel):
    """An address that asked for notifications, and whether it confirmed that it did.

    ``digest`` is the address's keyed hash (what unsubscribe and confirmation links carry);
    ``email`` is private like a comment's. Nothing but a confirmation mail is sent to an
    address until ``confirmed`` is set, and it stays set.
    """

    digest = CharField(max_length=64, unique=True)
    email = CharField(max_length=256)
    lang = CharField(max_length=16, null=True)  # the language of its confirmation mail
    created = DateTimeField(default=utcnow)
    asked = DateTimeField(null=True)  # when the last confirmation mail was queued
    confirmed = DateTimeField(null=True)


class DigestPeriod(BaseModel):
    """An admin digest period one process claimed (``[mail] admin_digest``): the row's
    unique ``period`` is what stops two processes from sending the same digest."""

    period = CharField(max_length=32, unique=True)  # "hourly 2026-11-28T10:00"
    claimed = DateTimeField(default=utcnow)
    comments = IntegerField(default=0)  # how many the mail listed (0: no mail was sent)


class Webmention(BaseModel):
    """One page's Webmention of a page of this site, as received and as last verified.

    ``status``: ``queued`` (received, not yet verified), ``verified`` (the source links to
    the target: a reply or mention is then ``comment``, a like, repost or bookmark is counted
    by this row alone), ``rejected`` (``error`` says why) or ``deleted`` (the source is gone
    or no longer links here). The same source and target again is the same row, verified anew.
    """

    source = CharField(max_length=1024)
    target = CharField(max_length=1024)
    uri = CharField(max_length=1024)  # the target's thread uri
    thread = ForeignKeyField(Thread, null=True, on_delete="CASCADE")  # set once verified
    comment = ForeignKeyField(Comment, null=True, on_delete="SET NULL")
    status = CharField(max_length=16, default="queued")
    kind = CharField(max_length=16, null=True)  # reply, like, repost, bookmark, mention
    author_name = CharField(max_length=256, null=True)
    author_url = CharField(max_length=1024, null=True)
    author_photo = CharField(max_length=1024, null=True)
    published = DateTimeField(null=True)
    received = DateTimeField(default=utcnow)
    verified = DateTimeField(null=True)
    error = CharField(max_length=512, null=True)

    class Meta:
        indexes = (
            (("source", "target"), True),
            (("thread", "kind", "status"), False),
        )


class RemoteActor(BaseModel):
    """A Fediverse account as its server last described it: the key that signs its requests,
    where to deliver to it, and the name, profile and avatar its comments show."""

    uri = CharField(max_length=1024, unique=True)  # the actor's id
    key_id = CharField(max_length=1024, index=True)
    public_key = TextField()  # PEM
    inbox = CharField(max_length=1024)
    shared_inbox = CharField(max_length=1024, null=True)
    name = CharField(max_length=256, null=True)
    handle = CharField(max_length=256, null=True)  # user@host
    url = CharField(max_length=1024, null=True)  # the profile page
    icon = CharField(max_length=1024, null=True)
    fetched = DateTimeField(default=utcnow)


class Follower(BaseModel):
    """A Fediverse account following the blog; ``follow`` is its Follow activity's id."""

    actor = ForeignKeyField(RemoteActor, unique=True, on_delete="CASCADE")
    follow = CharField(max_length=1024)
    created = DateTimeField(default=utcnow)


class FediversePost(BaseModel):
    """A thread published to followers as an ``Article`` (its id: ``/ap/posts/<thread>``)."""

    thread = ForeignKeyField(Thread, unique=True, on_delete="CASCADE")
    url = CharField(max_length=1024)
    title = CharField(max_length=512)
    summary = TextField(default="")
    published = DateTimeField(default=utcnow, index=True)
    updated = DateTimeField(null=True)


class RemoteNote(BaseModel):
    """A Fediverse post that became a comment: its object id, for its Update and Delete."""

    uri = CharField(max_length=1024, unique=True)
    comment = ForeignKeyField(Comment, unique=True, on_delete="CASCADE")
    actor = ForeignKeyField(RemoteActor, on_delete="CASCADE")


class Reaction(BaseModel):
    """A Fediverse Like (``like``) or Announce (``repost``) of a published thread."""

    activity = CharField(max_length=1024, unique=True)
    thread = ForeignKeyField(Thread, on_delete="CASCADE")
    actor = ForeignKeyField(RemoteActor, on_delete="CASCADE")
    kind = CharField(max_length=16)
    created = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("thread", "kind"), False),)


class Avatar(BaseModel):
    """A remote author's picture, fetched once and served from commentd's own origin, so
    that readers' browsers never ask another site. ``status``: ``queued``, ``ok``, ``failed``."""

    digest = CharField(max_length=64, primary_key=True)  # sha256 of the URL, hex
    url = CharField(max_length=1024)
    status = CharField(max_length=16, default="queued")
    content_type = CharField(max_length=32, null=True)
    data = BlobField(null=True)
    fetched = DateTimeField(null=True)


REPORT_REASONS = ("spam", "abuse", "off_topic", "other")

MODELS = (
    Setting,
    Thread,
    Comment,
    Vote,
    Report,
    RateHit,
    AuditEntry,
    OutboxMessage,
    UsedToken,
    Ban,
    FilterToken,
    Refusal,
    Subscriber,
    DigestPeriod,
    Webmention,
    RemoteActor,
    Follower,
    FediversePost,
    RemoteNote,
    Reaction,
    Avatar,
)
