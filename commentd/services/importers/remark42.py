"""Remark42's backup (``remark42 backup``, the admin export, the daily auto-backups): JSON
Lines, usually gzip-compressed. The first line is a header ``{"version": 1, "users": [...],
"posts": [...]}``: each user's block (``{"status": true, "until": TIME}``; a permanent
block runs for a century) and details (the email a user gave for reply notifications), and
the read-only posts. Then one comment per line, the comments of one page together, oldest
first; ``text`` is the HTML Remark42 rendered and shows.

A blocked user becomes a ban of their email, the one thing of theirs commentd can match
(its bans are of emails, networks and words; Remark42 keeps no address, only a keyed hash of
it, and a ban of a name would be a ban of a word in every comment). A blocked user without
an email is skipped, with that reason.

Follows umputun/remark42: ``backend/app/migrator/native.go`` (the header and the lines),
``backend/app/store/comment.go`` (Comment, Locator, Edit), ``backend/app/store/user.go``
(User; its ``ip`` is an HMAC of the address, not an address), ``backend/app/store/service/
service.go`` (UserMetaData, PostMetaData) and ``backend/app/store/engine/engine.go``
(UserDetailEntry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from commentd.errors import ValidationError
from commentd.services.importers.records import (
    BanRecord,
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    VoteRecord,
    address_of,
    counts_of_score,
    parse_time,
    uri_of,
    voter_of,
)
from commentd.storage.models import Status

VERSIONS = (0, 1)  # Remark42 itself reads both
HEADER = re.compile(r'\{\s*(?:"version"\s*:\s*\d+\s*,\s*)?"users"\s*:\s*(?:\[|null)')


def sniff(text: str) -> bool:
    """A Remark42 backup starts with its header's version and users."""
    return HEADER.match(text) is not None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class _Header:
    """The header's users (their notification emails) and read-only posts."""

    def __init__(self, raw: bytes):
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if not isinstance(item, dict) or not {"users", "posts"} <= item.keys():
            raise ValidationError(
                'Not a Remark42 backup: its first line must be {"version": 1, "users": [...],'
                ' "posts": [...]}.',
                code="invalid_file",
            )
        if item.get("version", 0) not in VERSIONS:
            raise ValidationError(
                f"Remark42 backup version {item.get('version')!r} is not supported (only 1).",
                code="invalid_file",
            )
        self.emails = {
            user["id"]: email
            for user in map(_dict, _list(item["users"]))
            if isinstance(user.get("id"), str)
            and (email := _str(_dict(user.get("details")).get("email")))
        }
        self.blocked: list[Record] = []  # a ban (or the reason there is none) per blocked user
        for user in map(_dict, _list(item["users"])):
            block, user_id = _dict(user.get("blocked")), user.get("id")
            if block.get("status") is not True or not isinstance(user_id, str):
                continue
            until = parse_time(_str(block.get("until")))
            if user_id not in self.emails:
                self.blocked.append(Skipped(user_id, "blocked user without an email: not banned"))
                continue
            email = self.emails[user_id]
            self.blocked.append(BanRecord(user_id, "email", email, until, "blocked in Remark42"))
        self.read_only = {
            post["url"]
            for post in map(_dict, _list(item["posts"]))
            if isinstance(post.get("url"), str) and post.get("read_only") is True
        }


def _counts(votes: dict, score: object) -> tuple[int, int]:
    """(likes, dislikes): from the voters when the backup lists them, else from the net
    score (current Remark42 leaves the voters out)."""
    if votes:
        ups = sum(1 for value in votes.values() if value is True)
        return ups, sum(1 for value in votes.values() if value is False)
    return counts_of_score(score)


def _records(item: dict, line: int, header: _Header, seen: set[str]) -> Iterator[Record]:
    key, url = _str(item.get("id")), _str(_dict(item.get("locator")).get("url"))
    if key is None or url is None:
        yield Skipped(key or f"line {line}", "comment without an id or a page url")
        return
    created = parse_time(_str(item.get("time")))
    if url not in seen:
        seen.add(url)
        yield ThreadRecord(
            key=url,
            uri=uri_of(url),
            title=_str(item.get("title")),
            created=created,
            locked=url in header.read_only,
        )
    user = _dict(item.get("user"))
    user_id = _str(user.get("id"))
    email = header.emails.get(user_id) if user_id else None
    votes = {uid: value for uid, value in _dict(item.get("votes")).items() if type(value) is bool}
    likes, dislikes = _counts(votes, item.get("score"))
    yield CommentRecord(
        key=key,
        thread_key=url,
        parent_key=_str(item.get("pid")),
        created=created,
        status=Status.DELETED if item.get("delete") is True else Status.APPROVED,
        html=_str(item.get("text")) or "",
        author=_str(user.get("name")),
        email=email,
        remote_addr=address_of(user.get("ip")),
        likes=likes,
        dislikes=dislikes,
        notify=email is not None,  # Remark42 keeps an email only for reply notifications
        extra={
            "modified": parse_time(_str(_dict(item.get("edit")).get("time"))),
            "pinned": item.get("pin") is True,
        },
    )
    if created is not None:  # without a time the votes stay as counts only
        for uid, up in votes.items():
            yield VoteRecord(key, voter_of("remark42", uid), 1 if up else -1, created)


def read(lines: Iterable[bytes]) -> Iterator[Record]:
    """The bans (of blocked users), threads, comments and votes of a Remark42 backup; a bad
    line is skipped with its reason, a file without the header refused."""
    header: _Header | None = None
    seen: set[str] = set()  # page urls whose thread is out
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if header is None:
            header = _Header(raw)
            yield from header.blocked
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            yield Skipped(f"line {number}", "not valid JSON")
            continue
        if not isinstance(item, dict):
            yield Skipped(f"line {number}", "not a JSON object")
            continue
        yield from _records(item, number, header, seen)
    if header is None:
        raise ValidationError("Not a Remark42 backup: the file is empty.", code="invalid_file")
