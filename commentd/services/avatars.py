"""Remote authors' pictures (a Fediverse account's avatar), kept and served from commentd's
own origin, so that a reader's browser never asks the author's server for anything.

``want(url)`` (inside the transaction that stores the comment) records the picture and
queues its fetch in the outbox (kind ``avatar``): off the request path, bounded like every
fetch (``services/fetch.py``) and to ``MAX_BYTES``. Only PNG, JPEG, GIF and WebP are kept,
recognized by their first bytes, whatever the server said they were. Once kept, every
comment with that picture shows it (``Comment.picture``, its digest) and its thread changes
version; ``GET /avatars/<digest>`` serves it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from commentd.config import Config
from commentd.errors import NotFound
from commentd.services import outbox
from commentd.services.comments import bump_version
from commentd.services.fetch import FetchError, fetch, limits_for
from commentd.services.webmention_verify import FINAL_FETCH_ERRORS, web_url
from commentd.storage.database import write_transaction
from commentd.storage.models import Avatar, Comment, Status, utcnow

KIND = "avatar"
MAX_BYTES = 256 * 1024
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def digest_of(url: str) -> str:
    """The name a picture is kept and served under."""
    return hashlib.sha256(url.encode()).hexdigest()


def image_type(data: bytes) -> str | None:
    """The media type of an image by its first bytes; None when it is none of ours."""
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def want(url: str | None) -> str | None:
    """Keep the picture at ``url``: its digest when it is kept already, else None (its fetch
    is queued the first time). Call it inside the write transaction of the comment."""
    if web_url(url) is None:
        return None
    assert url is not None
    digest = digest_of(url)
    kept = Avatar.get_or_none(Avatar.digest == digest)
    if kept is not None:
        return digest if kept.status == "ok" else None
    Avatar.insert(digest=digest, url=url).on_conflict_ignore().execute()
    outbox.enqueue(KIND, url, {"digest": digest})
    return None


def picture(digest: str) -> tuple[str, bytes]:
    """A kept picture's media type and bytes; 404 ``avatar_not_found`` when there is none."""
    kept = Avatar.get_or_none((Avatar.digest == digest) & (Avatar.status == "ok"))
    if kept is None or kept.data is None or not kept.content_type:
        raise NotFound("No such picture.", code="avatar_not_found")
    return kept.content_type, bytes(kept.data)


class Fetcher:
    """The outbox handler: fetch one picture, keep it, show it on its comments."""

    def __init__(self, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        limits = limits_for(config.webmention)
        self.limits = dataclasses.replace(limits, max_bytes=min(limits.max_bytes, MAX_BYTES))
        self.clock = clock

    def __call__(self, url: str, payload: dict[str, Any]) -> None:
        row = Avatar.get_or_none(Avatar.digest == payload.get("digest"))
        if row is not None and row.status != "ok":
            kind, data = self._fetched(row)
            if kind is None:
                self._failed(row)
            else:
                self._keep(row, kind, data)

    def _fetched(self, row: Avatar) -> tuple[str | None, bytes]:
        """The picture's type (None: not a picture we keep, for good) and bytes; raises for
        what may work next time (network trouble, a 5xx, 408, 429)."""
        try:
            page = fetch(row.url, self.limits, headers={"Accept": "image/*"})
        except FetchError as exc:
            if exc.code in FINAL_FETCH_ERRORS:
                return None, b""
            raise
        if page.status >= 500 or page.status in (408, 429):
            raise RuntimeError(f"{row.url[:200]} answered {page.status}")
        return (image_type(page.body) if page.status == 200 else None), page.body

    def _keep(self, row: Avatar, kind: str, data: bytes) -> None:
        with write_transaction():
            row.status, row.content_type, row.data = "ok", kind, data
            row.fetched = self.clock()
            row.save()
            shown = Comment.select(Comment.thread).where(
                (Comment.photo == row.url) & (Comment.status != Status.DELETED)
            )
            threads = {comment.thread_id for comment in shown}
            Comment.update(picture=row.digest).where(Comment.photo == row.url).execute()
            for thread_id in threads:
                bump_version(thread_id)

    def _failed(self, row: Avatar) -> None:
        with write_transaction():
            row.status, row.fetched = "failed", self.clock()
            row.save()
