"""Waline's export (its admin's *Migration → Export*, saved as ``waline.json``): one document.

``{"__version": "1.x", "type": "waline", "version": 1, "time": ..., "tables": [...],
"data": {"Comment": [...], "Counter": [...], "Users": [...]}}``. A comment has ``objectId``,
``url`` (the page's path), ``nick``, ``mail``, ``link``, ``comment`` (its Markdown source:
Waline renders it when shown, single newlines as line breaks and raw HTML sanitized, and so
do its records: ``breaks`` and ``raw_html``), ``ip``, ``ua``, ``insertedAt`` (the comment's
time; ``createdAt`` and ``updatedAt`` are the row's), ``status`` (approved, waiting, spam), ``pid``
(the comment it answers), ``rid`` (the root of its replies), ``like``, ``sticky`` and
``user_id``. A signed-in commenter is shown with their user's name, email and website
(``Users``: ``objectId``, ``display_name``, ``email``, ``url``), so those are read first, in
a pass of their own. By storage, ids are strings or numbers, flags booleans, numbers or
strings, and times ISO strings, LeanCloud's ``{"__type": "Date", "iso": ...}`` or epoch
milliseconds. ``Counter`` holds page views and reactions, no titles.

Follows walinejs/waline: ``packages/server/src/controller/db.js`` (the export),
``packages/admin/src/pages/migration/index.jsx`` and ``packages/admin/src/utils/request.js``
(the file), ``packages/server/src/controller/comment.js`` (a comment as shown) and
``assets/waline.sql`` (the columns).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from commentd.services.importers.formats import Source

STATUSES = {"approved": Status.APPROVED, "waiting": Status.PENDING, "spam": Status.SPAM}
_HEAD = re.compile(r'"type"\s*:\s*"waline"')


def sniff(text: str) -> bool:
    """A JSON object whose header says ``"type": "waline"`` (it comes before the data)."""
    return text.startswith("{") and _HEAD.search(text) is not None


def _str(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _id(value: object) -> str | None:
    """An id: a string (LeanCloud, MongoDB, GitHub) or a number (the SQL storages)."""
    if type(value) is int:
        return str(value)
    return _str(value)


def _time(value: object) -> dt.datetime | None:
    if isinstance(value, dict):  # LeanCloud's Date
        value = value.get("iso")
    if type(value) is int:  # epoch milliseconds
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_time(_str(value))


def _count(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return max(value, 0) if type(value) is int else 0


def _flag(value: object) -> bool:
    return value is True or value == 1 or value in ("1", "true")


@dataclass(frozen=True)
class _User:
    name: str | None
    email: str | None
    website: str | None


def _users(source: Source) -> dict[str, _User]:
    users: dict[str, _User] = {}
    with source.open(counted=False) as stream:
        for item in jsonstream.items(stream, "data", "Users"):
            if isinstance(item, dict) and (key := _id(item.get("objectId"))):
                users[key] = _User(
                    _str(item.get("display_name")), _str(item.get("email")), _str(item.get("url"))
                )
    return users


def _comment(item: dict, users: dict[str, _User], seen: set[str]) -> Iterator[Record]:
    key, url = _id(item.get("objectId")), _str(item.get("url"))
    if key is None or url is None:
        yield Skipped(key or "?", "comment without an objectId or a url")
        return
    status = STATUSES.get(item.get("status"))  # type: ignore[arg-type]
    if status is None:
        yield Skipped(key, f"unknown status {item.get('status')!r}")
        return
    created = _time(item.get("insertedAt")) or _time(item.get("createdAt"))
    thread = uri_of(url)
    if thread not in seen:
        seen.add(thread)
        yield ThreadRecord(key=thread, uri=thread, created=created)
    user = users.get(_id(item.get("user_id")) or "")
    comment = item.get("comment")
    yield CommentRecord(
        key=key,
        thread_key=thread,
        parent_key=_id(item.get("pid")) or _id(item.get("rid")),
        created=created,
        status=status,
        markdown=comment if isinstance(comment, str) else "",
        author=(user and user.name) or _str(item.get("nick")),
        email=(user and user.email) or _str(item.get("mail")),
        website=(user and user.website) or _str(item.get("link")),
        remote_addr=_str(item.get("ip")),
        likes=_count(item.get("like")),
        breaks=True,  # as the source shows its Markdown: newlines kept, raw HTML allowed
        raw_html=True,
        extra={"pinned": _flag(item.get("sticky"))},
    )


def read(source: Source) -> Iterator[Record]:
    """The threads and comments of a Waline export: its users first, then its comments."""
    users = _users(source)
    seen: set[str] = set()  # the threads already yielded
    with source.open() as stream:
        for item in jsonstream.items(stream, "data", "Comment"):
            if isinstance(item, dict):
                yield from _comment(item, users, seen)
            else:
                yield Skipped("?", "comment that is not a JSON object")
