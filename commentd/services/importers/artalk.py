"""Artalk's Artrans (its *Export*, and what its Artransfer tools write): a JSON array.

Each item (an "Artran") is one comment with its page, site and commenter, every value a
string: ``id``, ``rid`` (the comment it answers, "0" at the top), ``content`` (Markdown:
Artalk renders it when shown, single newlines as line breaks and raw HTML sanitized, and so
do its records: ``breaks`` and ``raw_html``), ``ua``, ``ip``, ``is_collapsed``,
``is_pending``, ``is_pinned`` ("true" or "false"), ``vote_up``, ``vote_down``, ``created_at``,
``updated_at`` (``2006-01-02 15:04:05 -0700``; before Artalk 2.9.1, Go's
``2006-01-02 15:04:05.999999999 -0700 MST``), ``nick``, ``email``, ``link``, ``password``,
``badge_name``, ``badge_color``, ``page_key`` (the page's URL or path), ``page_title``,
``page_admin_only`` (only admins may comment), ``site_name`` and ``site_urls``. Artalk reads
numbers and booleans in place of the strings too, and so does this reader.

Follows ArtalkJS/Artalk: ``internal/entity/artran.go``, ``internal/artransfer/exporter.go``,
``internal/artransfer/importer.go``, ``internal/artransfer/json.go`` and
``docs/docs/en/guide/transfer.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO

from commentd.services.importers import jsonstream
from commentd.services.importers.records import (
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    parse_time,
    uri_of,
)
from commentd.storage.models import Status

_GO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?(?:\s+[A-Z]+)?"
)
_HEAD = re.compile(r'\[\s*\{\s*"[a-z_]+"\s*:')


def sniff(text: str) -> bool:
    """An array of objects with Artran members: ``rid`` and ``content`` come first."""
    return _HEAD.match(text) is not None and '"rid"' in text and '"content"' in text


def _text(value: object) -> str:
    """A value as Artalk reads it: every scalar as its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _true(value: object) -> bool:
    return _text(value) in ("true", "1")


def _count(value: object) -> int:
    try:
        return max(int(_text(value)), 0)
    except ValueError:
        return 0


def _time(value: object) -> dt.datetime | None:
    """Artalk's ``2006-01-02 15:04:05 -0700`` (with Go's fraction and zone name in older
    exports), or ISO 8601."""
    text = _text(value)
    match = _GO_TIME.fullmatch(text)
    if match is None:
        return parse_time(text)
    date, clock, fraction, zone = match.groups()
    fraction = f".{fraction[:6]:0<6}" if fraction else ""
    return parse_time(f"{date}T{clock}{fraction}{zone or ''}")


def _comment(item: dict, seen: set[str]) -> Iterator[Record]:
    key, page = _text(item.get("id")), _text(item.get("page_key"))
    if not key or not page:
        yield Skipped(key or "?", "comment without an id or a page_key")
        return
    created = _time(item.get("created_at"))
    thread = uri_of(page)
    if thread not in seen:
        seen.add(thread)
        yield ThreadRecord(
            key=thread,
            uri=thread,
            title=_text(item.get("page_title")) or None,
            created=created,
            locked=_true(item.get("page_admin_only")),
        )
    parent = _text(item.get("rid"))
    content = item.get("content")
    yield CommentRecord(
        key=key,
        thread_key=thread,
        parent_key=parent if parent not in ("", "0") else None,
        created=created,
        status=Status.PENDING if _true(item.get("is_pending")) else Status.APPROVED,
        markdown=content if isinstance(content, str) else "",
        author=_text(item.get("nick")) or None,
        email=_text(item.get("email")) or None,
        website=_text(item.get("link")) or None,
        remote_addr=_text(item.get("ip")) or None,
        likes=_count(item.get("vote_up")),
        dislikes=_count(item.get("vote_down")),
        breaks=True,  # as the source shows its Markdown: newlines kept, raw HTML allowed
        raw_html=True,
        extra={"pinned": _true(item.get("is_pinned"))},
    )


def read(stream: BinaryIO) -> Iterator[Record]:
    """The threads and comments of an Artrans file, streamed."""
    seen: set[str] = set()  # the threads already yielded
    for item in jsonstream.items(stream):
        if isinstance(item, dict):
            yield from _comment(item, seen)
        else:
            yield Skipped("?", "comment that is not a JSON object")
