"""WordPress's WXR export: ``<item>`` posts in an RSS channel, each with its ``<wp:comment>``s.

Format: the WordPress eXtended RSS written by Tools > Export (wp namespaces 1.0 to 1.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

from commentd.services.importers.htmltext import plain_to_html
from commentd.services.importers.records import (
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    parse_time,
    uri_of,
)
from commentd.services.importers.xmlstream import records
from commentd.storage.models import Status

APPROVAL = {"1": Status.APPROVED, "0": Status.PENDING, "spam": Status.SPAM, "trash": Status.DELETED}
PINGS = ("pingback", "trackback")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _fields(element: Element) -> dict[str, Element]:
    """Children by local name (the wp namespace URI changes between WordPress versions)."""
    return {_local(child.tag): child for child in element}


def _text(fields: dict[str, Element], name: str) -> str:
    child = fields.get(name)
    return (child.text or "").strip() if child is not None else ""


def _comment(element: Element, thread_key: str, keep_pings: bool) -> Record:
    fields = _fields(element)
    key = _text(fields, "comment_id")
    if not key:
        return Skipped("?", "comment without an id")
    key = f"{thread_key}:{key}"
    kind = _text(fields, "comment_type")
    if kind in PINGS and not keep_pings:
        return Skipped(key, kind)
    approved = _text(fields, "comment_approved")
    status = APPROVAL.get(approved)
    if status is None:
        return Skipped(key, f"unknown approval state {approved!r}")
    parent = _text(fields, "comment_parent")
    created = parse_time(_text(fields, "comment_date_gmt"))
    if created is None or created.year < 1971:  # drafts carry 0000-00-00 00:00:00
        created = parse_time(_text(fields, "comment_date"))
    return CommentRecord(
        key=key,
        thread_key=thread_key,
        parent_key=f"{thread_key}:{parent}" if parent not in ("", "0") else None,
        created=created,
        status=status,
        html=plain_to_html(_text(fields, "comment_content")),
        author=_text(fields, "comment_author") or None,
        email=_text(fields, "comment_author_email") or None,
        website=_text(fields, "comment_author_url") or None,
        remote_addr=_text(fields, "comment_author_IP") or None,
    )


def read(stream: BinaryIO, keep_pings: bool = False) -> Iterator[Record]:
    """The commented posts of a WXR export and their comments, streamed post by post."""
    for item in records(stream, level=3):
        if _local(item.tag) != "item":
            continue
        fields = _fields(item)
        comments = [child for child in item if _local(child.tag) == "comment"]
        if not comments:
            continue
        key = _text(fields, "post_id") or _text(fields, "guid")
        link = _text(fields, "link")
        if not key or not link:
            yield Skipped(key or "?", "post without an id or a link")
            continue
        yield ThreadRecord(
            key=key,
            uri=uri_of(link),
            title=_text(fields, "title") or None,
            created=parse_time(_text(fields, "post_date_gmt")),
            locked=_text(fields, "comment_status") == "closed",
        )
        for element in comments:
            yield _comment(element, key, keep_pings)
