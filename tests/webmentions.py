"""Webmention rows made directly, as the verification will store them: a reply or mention is a
``Comment`` (kind, source, photo), a like, repost or bookmark a verified ``Webmention`` row.
Each write bumps its thread's version, as the verification does."""

from __future__ import annotations

import datetime as dt
import itertools

from commentd.services.comments import bump_version
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status, Thread, Webmention

BLOG = "https://blog.example.com"
_serial = itertools.count(1)


def _thread(uri: str) -> Thread:
    thread, _ = Thread.get_or_create(uri=uri)
    return thread


def reply(
    uri: str = "/post/",
    *,
    kind: str = "reply",
    author: str | None = "Grace",
    website: str | None = "https://grace.other.example.org/",
    source: str = "https://other.example.org/2026/re-post",
    html: str = "<p>A reply from my blog.</p>",
    photo: str | None = "https://other.example.org/grace.jpg",
    status: Status = Status.APPROVED,
    parent: int | None = None,
) -> int:
    """A Webmention reply or mention of ``uri`` as a comment; its id."""
    with connection():
        thread = _thread(uri)
        comment = Comment.create(
            thread=thread,
            parent=parent,
            author=author,
            website=website,
            text="",
            html=html,
            status=status,
            kind=kind,
            source=source,
            photo=photo,
        )
        bump_version(thread.id)
        return comment.id


def reaction(
    uri: str = "/post/",
    kind: str = "like",
    name: str | None = "Linus",
    url: str | None = "https://linus.example.net/",
    *,
    status: str = "verified",
    photo: str | None = "https://tracker.example.net/linus.png",
    published: dt.datetime | None = None,
) -> int:
    """A like, repost or bookmark of ``uri``; its id."""
    with connection():
        thread = _thread(uri)
        serial = next(_serial)
        row = Webmention.create(
            source=f"https://r{serial}.example.net/{kind}",
            target=f"{BLOG}{uri}",
            uri=uri,
            thread=thread,
            status=status,
            kind=kind,
            author_name=name,
            author_url=url,
            author_photo=photo,
            published=published or dt.datetime(2026, 11, 1) + dt.timedelta(minutes=serial),
        )
        bump_version(thread.id)
        return row.id
