"""commentd's own export format: JSON Lines, one object per line, streamed both ways.

The first line is ``{"format": "commentd-export", "version": 1, ...}``; then one object per
thread, comment, vote and setting, each with a ``type``. Threads come before their comments,
and a comment before its replies and votes. See docs/import.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from commentd.errors import ValidationError
from commentd.services.importers.records import (
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    VoteRecord,
    parse_time,
)
from commentd.storage.models import Status

FORMAT = "commentd-export"
VERSION = 1
STATUSES = {status.value: status for status in Status}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object, default: int = 0) -> int:
    return value if type(value) is int else default


def _record(item: dict, line: int) -> Record | None:
    kind = item.get("type")
    if kind == "thread":
        if not isinstance(item.get("id"), int) or not _str(item.get("uri")):
            return Skipped(f"line {line}", "thread without an id or a uri")
        return ThreadRecord(
            key=str(item["id"]),
            uri=item["uri"],
            title=_str(item.get("title")),
            created=parse_time(_str(item.get("created"))),
            locked=item.get("locked") is True,
        )
    if kind == "comment":
        status = STATUSES.get(item.get("status"))  # type: ignore[arg-type]
        if not isinstance(item.get("id"), int) or not isinstance(item.get("thread"), int):
            return Skipped(f"line {line}", "comment without an id or a thread")
        if status is None or not isinstance(item.get("text"), str):
            return Skipped(f"line {line}", "comment without a known status or a text")
        parent = item.get("parent")
        return CommentRecord(
            key=str(item["id"]),
            thread_key=str(item["thread"]),
            parent_key=str(parent) if isinstance(parent, int) else None,
            created=parse_time(_str(item.get("created"))),
            status=status,
            markdown=item["text"],
            html=_str(item.get("html")),
            author=_str(item.get("author")),
            email=_str(item.get("email")),
            website=_str(item.get("website")),
            remote_addr=_str(item.get("remote_addr")),
            likes=_int(item.get("likes")),
            dislikes=_int(item.get("dislikes")),
            notify=item.get("notify") is True,
            extra={
                "modified": parse_time(_str(item.get("modified"))),
                "pinned": item.get("pinned") is True,
                "notify_thread": item.get("notify_thread") is True,
            },
        )
    if kind == "vote":
        value, created = item.get("value"), parse_time(_str(item.get("created")))
        if not isinstance(item.get("comment"), int) or value not in (1, -1) or not created:
            return Skipped(f"line {line}", "vote without a comment, a value or a time")
        voter = _str(item.get("voter"))
        if not voter:
            return Skipped(f"line {line}", "vote without a voter")
        return VoteRecord(str(item["comment"]), voter[:64], value, created)
    if kind == "setting":
        return None  # settings are the site's own; an import never overwrites them
    return Skipped(f"line {line}", f"unknown record type {kind!r}")


def read(lines: Iterable[bytes]) -> Iterator[Record]:
    """The records of an export; a bad line is skipped with its reason, a bad header refused."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            if number == 1:
                raise ValidationError(
                    "Not a commentd export: the first line is not JSON.", code="invalid_file"
                ) from None
            yield Skipped(f"line {number}", "not valid JSON")
            continue
        if number == 1:
            if not isinstance(item, dict) or item.get("format") != FORMAT:
                raise ValidationError(
                    f'Not a commentd export: the first line must be {{"format": "{FORMAT}", ...}}.',
                    code="invalid_file",
                )
            if item.get("version") != VERSION:
                raise ValidationError(
                    f"Export version {item.get('version')!r} is not supported (only {VERSION}).",
                    code="invalid_file",
                )
            continue
        if not isinstance(item, dict):
            yield Skipped(f"line {number}", "not a JSON object")
            continue
        record = _record(item, number)
        if record is not None:
            yield record
