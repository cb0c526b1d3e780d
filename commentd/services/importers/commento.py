"""Commento's export and Comentario's: one JSON document, usually gzip-compressed.

Version 1 (Commento's *Export*, Comentario 2) is ``{"version": 1, "comments": [...],
"commenters": [...]}``; a comment names its page by ``domain`` and path (``url`` in
Commento, ``path`` in Comentario), its author by ``commenterHex`` ("anonymous" for none), its
parent by ``parentHex`` ("root" at the top) and its state (approved, unapproved, flagged).
Version 3 (Comentario 3's *Export*) is ``{"version": 3, "pages": [...], "comments": [...],
"commenters": [...]}`` with ids, flags (isApproved, isPending, isDeleted, isSticky) and
times. Both keep a net score, not voters.

The commenters come after the comments, so they are read first, in a pass of their own (one
per commenter: Commento lists a commenter once per comment); then Comentario's pages; then
the comments, streamed.

Follows gitlab.com/commento/commento (mirrored as adtac/commento): ``api/domain_export.go``,
``api/domain_import_commento.go`` (commentoExportV1), ``api/comment.go``,
``api/commenter.go``, ``api/comment_delete.go``; and gitlab.com/comentario/comentario:
``internal/svc/impex_comentario.go`` (V1 and V3) and ``resources/swagger/swagger.yml``
(comment, commenter, domainPage).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from commentd.errors import ValidationError
from commentd.services.importers import jsonstream
from commentd.services.importers.records import (
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    address_of,
    counts_of_score,
    parse_time,
    uri_of,
)
from commentd.storage.models import Status

if TYPE_CHECKING:
    from commentd.services.importers.formats import Source

ANONYMOUS = {"anonymous", "0" * 64, "00000000-0000-0000-0000-000000000000"}
STATES = {"approved": Status.APPROVED, "unapproved": Status.PENDING, "flagged": Status.SPAM}
DELETED_TEXT = "[deleted]"  # what Commento leaves of a deleted comment's text
NAMES = {1: "commento", 3: "comentario"}
_HEADS = {
    1: re.compile(r'\{\s*"version"\s*:\s*1\s*,\s*"(?:comments|commenters)"\s*:'),
    3: re.compile(r'\{\s*"version"\s*:\s*3\s*,\s*"pages"\s*:'),
}


def sniff(text: str, version: int) -> bool:
    """Commento and Comentario write ``version`` first, then their arrays."""
    return _HEADS[version].match(text) is not None


def _str(value: object) -> str | None:
    """A string that says something: Commento writes "undefined" for a missing link."""
    return value if isinstance(value, str) and value and value != "undefined" else None


@dataclass(frozen=True)
class _Person:
    name: str | None
    email: str | None
    website: str | None


def _version(source: Source, wanted: int) -> None:
    with source.open(counted=False) as stream:
        found = jsonstream.top_level(stream).get("version")
    if found == wanted:
        return
    if found in NAMES:
        raise ValidationError(
            f"This is a {NAMES[found].capitalize()} export (version {found}): import it with"
            f" --format {NAMES[found]}.",
            code="invalid_file",
        )
    raise ValidationError(
        f"Not a Commento or Comentario export (version 1 or 3): its version is {found!r}.",
        code="invalid_file",
    )


def _commenters(source: Source, id_key: str) -> dict[str, _Person]:
    people: dict[str, _Person] = {}
    with source.open(counted=False) as stream:
        for item in jsonstream.items(stream, "commenters"):
            if isinstance(item, dict) and (key := _str(item.get(id_key))):
                website = _str(item.get("websiteUrl")) or _str(item.get("link"))  # Commento's
                people[key] = _Person(_str(item.get("name")), _str(item.get("email")), website)
    return people


def _pages(source: Source) -> tuple[dict[str, ThreadRecord], list[Skipped]]:
    """Comentario's pages as threads, by page id, and the pages it cannot use."""
    pages: dict[str, ThreadRecord] = {}
    skipped: list[Skipped] = []
    with source.open(counted=False) as stream:
        for item in jsonstream.items(stream, "pages"):
            page = item if isinstance(item, dict) else {}
            key, path = _str(page.get("id")), _str(page.get("path"))
            if key is None or path is None:
                skipped.append(Skipped(key or "?", "page without an id or a path"))
                continue
            pages[key] = ThreadRecord(
                key=key,
                uri=uri_of("/" + path.lstrip("/")),
                title=_str(page.get("title")),
                created=parse_time(_str(page.get("createdTime"))),
                locked=page.get("isReadonly") is True,
            )
    return pages, skipped


def _body(item: dict) -> dict[str, str]:
    """The comment's Markdown when the export has it, else its HTML."""
    markdown = item.get("markdown")
    if isinstance(markdown, str) and markdown:
        return {"markdown": markdown}
    html = item.get("html")
    return {"html": html if isinstance(html, str) else ""}


def _v1(item: dict, people: dict[str, _Person], seen: set[str]) -> Iterator[Record]:
    key = _str(item.get("commentHex"))
    path = _str(item.get("path")) or _str(item.get("url"))
    if key is None or path is None:
        yield Skipped(key or "?", "comment without a commentHex or a page path")
        return
    body = _body(item)
    text = (body.get("markdown") or body.get("html") or "").strip()
    if item.get("deleted") is True or text in ("", DELETED_TEXT):
        status: Status | None = Status.DELETED
    else:
        status = STATES.get(item.get("state"))  # type: ignore[arg-type]
    if status is None:
        yield Skipped(key, f"unknown state {item.get('state')!r}")
        return
    path = "/" + path.lstrip("/")
    thread = (_str(item.get("domain")) or _str(item.get("host")) or "") + path
    created = parse_time(_str(item.get("creationDate")))
    if thread not in seen:
        seen.add(thread)
        yield ThreadRecord(key=thread, uri=uri_of(path), created=created)
    parent = _str(item.get("parentHex"))
    commenter = _str(item.get("commenterHex"))
    person = people.get(commenter) if commenter not in ANONYMOUS else None
    likes, dislikes = counts_of_score(item.get("score"))
    yield CommentRecord(
        key=key,
        thread_key=thread,
        parent_key=parent if parent != "root" else None,
        created=created,
        status=status,
        author=person.name if person else None,
        email=person.email if person else None,
        website=person.website if person else None,
        likes=likes,
        dislikes=dislikes,
        **body,
    )


def _v3(
    item: dict, people: dict[str, _Person], pages: dict[str, ThreadRecord], seen: set[str]
) -> Iterator[Record]:
    key, page = _str(item.get("id")), pages.get(_str(item.get("pageId")) or "")
    if key is None or page is None:
        yield Skipped(key or "?", "comment without an id or a known page")
        return
    if page.key not in seen:
        seen.add(page.key)
        yield page
    if item.get("isDeleted") is True:
        status = Status.DELETED
    elif item.get("isApproved") is True:
        status = Status.APPROVED
    elif item.get("isPending") is True:
        status = Status.PENDING
    else:
        status = Status.SPAM  # rejected by a moderator
    user = _str(item.get("userCreated"))
    person = people.get(user) if user not in ANONYMOUS else None
    likes, dislikes = counts_of_score(item.get("score"))
    yield CommentRecord(
        key=key,
        thread_key=page.key,
        parent_key=_str(item.get("parentId")),
        created=parse_time(_str(item.get("createdTime"))),
        status=status,
        author=person.name if person else _str(item.get("authorName")),
        email=person.email if person else None,
        website=person.website if person else None,
        remote_addr=address_of(item.get("authorIP")),
        likes=likes,
        dislikes=dislikes,
        extra={
            "modified": parse_time(_str(item.get("editedTime"))),
            "pinned": item.get("isSticky") is True,
        },
        **_body(item),
    )


def read(source: Source, version: int) -> Iterator[Record]:
    """The threads and comments of a version-``version`` export."""
    _version(source, version)
    seen: set[str] = set()  # thread keys already yielded
    pages, skipped = _pages(source) if version == 3 else ({}, [])
    yield from skipped
    people = _commenters(source, "commenterHex" if version == 1 else "id")
    with source.open() as stream:
        for item in jsonstream.items(stream, "comments"):
            if not isinstance(item, dict):
                yield Skipped("?", "comment that is not a JSON object")
            elif version == 1:
                yield from _v1(item, people, seen)
            else:
                yield from _v3(item, people, pages, seen)
