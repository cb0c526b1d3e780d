"""Exporting everything as commentd's JSON Lines format (see importers/jsonl.py), streamed.

The export holds the site's data, including commenters' emails and stored networks, but no
secrets: the signing secret, the admin password and session keys never leave the database.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

from commentd.services.importers.jsonl import FORMAT, VERSION
from commentd.storage.models import Comment, Setting, Thread, Vote, utcnow
from commentd.version import __version__

PRIVATE_SETTINGS = ("secret", "password", "session")


@dataclass
class ExportCounts:
    threads: int = 0
    comments: int = 0
    votes: int = 0
    settings: int = 0


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") + "Z" if value else None


def _line(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"


def lines(counts: ExportCounts | None = None) -> Iterator[str]:
    """The export, one line at a time, rows read in id order without caching them."""
    counts = counts if counts is not None else ExportCounts()
    yield _line(
        {"format": FORMAT, "version": VERSION, "commentd": __version__, "exported": _time(utcnow())}
    )
    for thread in Thread.select().order_by(Thread.id).iterator():
        counts.threads += 1
        yield _line(
            {
                "type": "thread",
                "id": thread.id,
                "uri": thread.uri,
                "title": thread.title,
                "created": _time(thread.created),
                "locked": thread.locked,
            }
        )
    for comment in Comment.select().order_by(Comment.id).iterator():
        counts.comments += 1
        yield _line(
            {
                "type": "comment",
                "id": comment.id,
                "thread": comment.thread_id,
                "parent": comment.parent_id,
                "status": comment.status.value,
                "author": comment.author,
                "email": comment.email,
                "website": comment.website,
                "text": comment.text,
                "html": comment.html,
                "created": _time(comment.created),
                "modified": _time(comment.modified),
                "likes": comment.likes,
                "dislikes": comment.dislikes,
                "remote_addr": comment.remote_addr,
                "notify": comment.notify,
                "notify_thread": comment.notify_thread,
                "pinned": comment.pinned,
            }
        )
    for vote in Vote.select().order_by(Vote.id).iterator():
        counts.votes += 1
        yield _line(
            {
                "type": "vote",
                "comment": vote.comment_id,
                "voter": vote.voter,
                "value": vote.value,
                "created": _time(vote.created),
            }
        )
    for setting in Setting.select().order_by(Setting.key).iterator():
        if any(word in setting.key.lower() for word in PRIVATE_SETTINGS):
            continue
        counts.settings += 1
        yield _line({"type": "setting", "key": setting.key, "value": setting.value})
