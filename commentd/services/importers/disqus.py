"""Disqus's XML export: ``<thread>`` records, then ``<post>`` records that point at them.

Format: https://help.disqus.com/en/articles/1717164-comments-export. Disqus's export has no
held state; ``<isApproved>false</isApproved>`` (the Disqus API's post field, which
``commentd export --format disqus`` writes) makes a post pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from commentd.services.importers.records import (
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    parse_time,
    uri_of,
)
from commentd.services.importers.xmlstream import child_text, records
from commentd.storage.models import Status

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def _flag(element, tag: str) -> bool:
    return child_text(element, NS + tag).lower() == "true"


def _ref(element, tag: str) -> str | None:
    child = element.find(NS + tag)
    return child.get(DSQ_ID) if child is not None else None


def _thread(element) -> Record:
    key = element.get(DSQ_ID) or child_text(element, NS + "id")
    link = child_text(element, NS + "link")
    if not key or not link:
        return Skipped(key or "?", "thread without an id or a link")
    return ThreadRecord(
        key=key,
        uri=uri_of(link),
        title=child_text(element, NS + "title") or None,
        created=parse_time(child_text(element, NS + "createdAt")),
        locked=_flag(element, "isClosed") or _flag(element, "isDeleted"),
        deleted=_flag(element, "isDeleted"),
    )


def _post(element) -> Record:
    key = element.get(DSQ_ID)
    thread_key = _ref(element, "thread")
    if not key or not thread_key:
        return Skipped(key or "?", "post without an id or a thread")
    if _flag(element, "isDeleted"):
        status = Status.DELETED
    elif _flag(element, "isSpam"):
        status = Status.SPAM
    elif child_text(element, NS + "isApproved").lower() == "false":
        status = Status.PENDING
    else:
        status = Status.APPROVED
    author = element.find(NS + "author")
    name = email = None
    if author is not None:
        name = child_text(author, NS + "name") or child_text(author, NS + "username") or None
        email = child_text(author, NS + "email") or None
    return CommentRecord(
        key=key,
        thread_key=thread_key,
        parent_key=_ref(element, "parent"),
        created=parse_time(child_text(element, NS + "createdAt")),
        status=status,
        html=child_text(element, NS + "message"),
        author=name,
        email=email,
        remote_addr=child_text(element, NS + "ipAddress") or None,
    )


def read(stream: BinaryIO) -> Iterator[Record]:
    """The threads and comments of a Disqus export, streamed."""
    for element in records(stream):
        if element.tag == NS + "thread":
            yield _thread(element)
        elif element.tag == NS + "post":
            yield _post(element)
