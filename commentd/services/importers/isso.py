"""Isso's own SQLite database file, read directly (opened read-only).

Isso keeps ``threads(id, uri, title)`` and ``comments(tid, id, parent, created, modified, mode,
remote_addr, text, author, email, website, likes, dislikes, voters, notification)``; ``mode`` is
1 for accepted, 2 for pending and 4 for deleted; ``text`` is Markdown; times are Unix seconds.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from commentd.errors import ValidationError
from commentd.services.importers.records import CommentRecord, Record, Skipped, ThreadRecord
from commentd.storage.models import Status

MODES = {1: Status.APPROVED, 2: Status.PENDING, 4: Status.DELETED}
SQLITE_MAGIC = b"SQLite format 3\x00"


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, (int, float)):
        return None
    return dt.datetime.fromtimestamp(value, dt.timezone.utc).replace(tzinfo=None)


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ValidationError(f"Not an Isso database: {exc}.", code="invalid_file") from None
    if not {"threads", "comments"} <= tables:
        db.close()
        raise ValidationError(
            "Not an Isso database: it has no threads and comments tables.", code="invalid_file"
        )
    return db


def read(path: Path) -> Iterator[Record]:
    """Every thread and comment of an Isso database, threads first."""
    db = _open(path)
    try:
        for row in db.execute("SELECT id, uri, title FROM threads ORDER BY id"):
            if not row["uri"]:
                yield Skipped(str(row["id"]), "thread without a uri")
                continue
            yield ThreadRecord(key=str(row["id"]), uri=row["uri"], title=row["title"] or None)
        columns = {row[1] for row in db.execute("PRAGMA table_info(comments)")}
        for row in db.execute("SELECT * FROM comments ORDER BY id"):
            status = MODES.get(row["mode"])
            if status is None:
                yield Skipped(str(row["id"]), f"unknown mode {row['mode']!r}")
                continue
            yield CommentRecord(
                key=str(row["id"]),
                thread_key=str(row["tid"]),
                parent_key=str(row["parent"]) if row["parent"] else None,
                created=_time(row["created"]),
                status=status,
                markdown=row["text"] or "",
                author=row["author"] or None,
                email=row["email"] or None,
                website=row["website"] or None,
                remote_addr=row["remote_addr"] or None,
                likes=int(row["likes"] or 0),
                dislikes=int(row["dislikes"] or 0),
                notify=bool(row["notification"]) if "notification" in columns else False,
                extra={"modified": _time(row["modified"])} if "modified" in columns else {},
            )
    finally:
        db.close()
