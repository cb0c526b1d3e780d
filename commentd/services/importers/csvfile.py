"""A CSV file of comments, for any source without a format of its own: one comment per row.

The first row names the columns (``COLUMNS``; any order, case and surrounding spaces
ignored, other columns ignored); ``id``, ``thread_uri`` and ``text`` are required. An id
needs to be unique only within its thread, and ``parent_id`` names a comment of the same
thread. The file is UTF-8 (a byte order mark is fine), read row by row with the ``csv``
module (the Excel dialect: commas, double quotes, line breaks inside quoted fields). Rows
are counted as a spreadsheet shows them, the header being row 1; a bad row is skipped with
its number and why. The columns are documented in docs/import.md ("CSV columns").
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Iterator

from commentd.errors import ValidationError
from commentd.services.importers.htmltext import plain_to_html
from commentd.services.importers.records import (
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    parse_time,
    uri_of,
)
from commentd.storage.models import Status

COLUMNS = (
    "id",
    "thread_uri",
    "thread_title",
    "parent_id",
    "created",
    "status",
    "author",
    "email",
    "website",
    "text",
    "format",
    "likes",
    "dislikes",
    "ip",
)
REQUIRED = ("id", "thread_uri", "text")
STATUSES = {status.value: status for status in Status}
BODY_FORMATS = ("markdown", "html", "text")


def _names(header: list[str]) -> list[str]:
    return [name.strip().lower() for name in header]


def sniff(text: str) -> bool:
    """A first line that names the required columns."""
    first = text.splitlines()[0] if text else ""
    return set(REQUIRED) <= set(_names(next(csv.reader([first]), [])))


def _lines(stream: Iterable[bytes]) -> Iterator[str]:
    """The file's lines as text, line endings kept for the ``csv`` module. Each is decoded
    on its own: they are split at ``\\n`` bytes, which UTF-8 never has inside a character."""
    for number, line in enumerate(stream, start=1):
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                f"The CSV file is not UTF-8 (line {number}).", code="invalid_file"
            ) from None
        yield text


def _body(text: str, body_format: str) -> dict[str, str]:
    if body_format == "markdown":
        return {"markdown": text}
    if body_format == "html":
        return {"html": text}
    return {"html": plain_to_html(html.escape(text, quote=False))}


def _problem(row: dict[str, str]) -> str | None:
    """What makes the row unusable, if anything."""
    for name in ("id", "thread_uri"):
        if not row[name]:
            return f"no {name}"
    if row["status"] not in STATUSES:
        return f"unknown status {row['status']!r} (approved, pending, spam or deleted)"
    if row["format"] not in BODY_FORMATS:
        return f"unknown format {row['format']!r} (markdown, html or text)"
    if row["created"] and parse_time(row["created"]) is None:
        return f"created {row['created']!r} is not an ISO 8601 time"
    for name in ("likes", "dislikes"):
        if row[name] and not row[name].isdigit():
            return f"{name} {row[name]!r} is not a whole number"
    if not row["text"].strip() and row["status"] != Status.DELETED.value:
        return "no text"
    return None


def _record(row: dict[str, str], number: int, seen: set[str]) -> Iterator[Record]:
    problem = _problem(row)
    if problem is not None:
        yield Skipped(row["id"] or f"row {number}", f"row {number}: {problem}")
        return
    thread = uri_of(row["thread_uri"])
    created = parse_time(row["created"])
    if thread not in seen:
        seen.add(thread)
        title = row["thread_title"] or None
        yield ThreadRecord(key=thread, uri=thread, title=title, created=created)
    yield CommentRecord(
        key=f"{thread}\n{row['id']}",
        thread_key=thread,
        parent_key=f"{thread}\n{row['parent_id']}" if row["parent_id"] else None,
        created=created,
        status=STATUSES[row["status"]],
        author=row["author"] or None,
        email=row["email"] or None,
        website=row["website"] or None,
        remote_addr=row["ip"] or None,
        likes=int(row["likes"] or 0),
        dislikes=int(row["dislikes"] or 0),
        **_body(row["text"], row["format"]),
    )


def read(stream: Iterable[bytes]) -> Iterator[Record]:
    """The threads and comments of a CSV file, row by row."""
    rows = csv.reader(_lines(stream))
    number = 0  # the last row read
    try:
        header = _names(next(rows, []))
        number = 1
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise ValidationError(
                f"Not a CSV file of comments: its first row has no {', '.join(missing)} column"
                f" (the columns are in docs/import.md).",
                code="invalid_file",
            )
        where = {name: header.index(name) for name in COLUMNS if name in header}
        seen: set[str] = set()  # the threads already yielded
        for number, values in enumerate(rows, start=2):
            if not any(value.strip() for value in values):
                continue  # a blank row
            row = dict.fromkeys(COLUMNS, "")
            for name, index in where.items():
                if index < len(values):
                    row[name] = values[index] if name == "text" else values[index].strip()
            row["status"] = row["status"].lower() or Status.APPROVED.value
            row["format"] = row["format"].lower() or "markdown"
            yield from _record(row, number, seen)
    except csv.Error as exc:
        raise ValidationError(
            f"The CSV file cannot be read at row {number + 1}: {exc}.", code="invalid_file"
        ) from None
