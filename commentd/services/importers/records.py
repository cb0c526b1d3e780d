"""What every importer yields: threads, comments and skipped records, source-neutral."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from commentd.storage.models import Status


@dataclass(frozen=True)
class ThreadRecord:
    """A page's thread. ``key`` is the source's id, unique within one import."""

    key: str
    uri: str
    title: str | None = None
    created: dt.datetime | None = None
    locked: bool = False
    deleted: bool = False  # the source deleted the page's thread: its comments stay hidden


@dataclass(frozen=True)
class CommentRecord:
    """A comment. ``markdown`` or ``html`` is its body as the source had it; with both, ``html``
    is the source's own rendering of the Markdown, kept (sanitized again) instead of rendering
    the Markdown anew, which costs twenty times more. ``breaks`` and ``raw_html`` say how the
    source renders its Markdown (``render()``'s options of those names): a single newline as a
    line break, raw HTML kept as far as the sanitizer allows."""

    key: str
    thread_key: str
    parent_key: str | None
    created: dt.datetime | None
    status: Status
    markdown: str | None = None
    html: str | None = None
    author: str | None = None
    email: str | None = None
    website: str | None = None
    remote_addr: str | None = None
    likes: int = 0
    dislikes: int = 0
    notify: bool = False
    extra: dict = field(default_factory=dict)
    breaks: bool = False
    raw_html: bool = False
    prepared: tuple[str, str] | None = None  # (html, text) as stored, when already rendered


@dataclass(frozen=True)
class Skipped:
    """A record left out, and why (shown in the import summary)."""

    key: str
    reason: str


@dataclass(frozen=True)
class VoteRecord:
    """A vote on the source's comment ``comment_key``. ``voter`` is stored as given (up to 64
    characters): a reader of a peer's format passes ``voter_of(format, user id)``, never an
    address or an email."""

    comment_key: str
    voter: str
    value: int  # 1 or -1
    created: dt.datetime


@dataclass(frozen=True)
class BanRecord:
    """A commenter the source blocked, to be banned: ``kind`` and ``value`` as
    ``bans.add`` takes them (``email`` and an address, for a peer's user), ``key`` the
    source's user id. ``until`` is when the source's block ends (None: never); commentd's
    bans do not end, so a block still running becomes a ban, one already over nothing."""

    key: str
    kind: str
    value: str
    until: dt.datetime | None = None
    reason: str | None = None


Record = ThreadRecord | CommentRecord | VoteRecord | BanRecord | Skipped


def voter_of(source: str, user: str) -> str:
    """A stable voter id for a peer's user id: a hash, so no user id is kept verbatim."""
    return hashlib.sha256(f"{source}\n{user}".encode()).hexdigest()[:32]


def address_of(value: object) -> str | None:
    """``value`` when it is an IP address; None for anything else (a peer's hash of one)."""
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def counts_of_score(score: object) -> tuple[int, int]:
    """(likes, dislikes) for a peer that keeps only a net score: a positive score as likes,
    a negative one as dislikes."""
    net = score if type(score) is int else 0
    return max(net, 0), max(-net, 0)


def uri_of(link: str) -> str:
    """The thread uri (path, with its query) of a page's full URL or path."""
    parts = urlsplit(link.strip())
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 or ``YYYY-MM-DD HH:MM:SS`` time as naive UTC; None when unreadable or
    Go's zero time (``0001-01-01T00:00:00Z``, which Go programs write for "no time")."""
    if not text:
        return None
    text = text.strip().replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.year == 1:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
