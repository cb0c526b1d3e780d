"""Public JSON shapes. Only the fields named here ever leave the server.

Email addresses and client addresses are never serialized; the avatar is a keyed hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from commentd.services.comments import CommentService
from commentd.services.keys import Keys, keyed_hash
from commentd.services.threads import Node, PageComment, ThreadPage
from commentd.storage.models import Comment, Status
from commentd.storage.queries import REACTIONS, Reactor


def dumps(value: Any) -> str:
    """JSON with ``<``, ``>`` and ``&`` escaped, so no response can ever parse as markup."""
    # Three replace() calls are about 20x faster than one str.translate() on large bodies.
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, to the millisecond."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds") + "Z"


def avatar(keys: Keys, comment: PageComment) -> str:
    """A stable hash to draw an identicon from: never the email itself.

    Keyed by email, else name; an anonymous comment gets its own, so that anonymous comments
    cannot be linked to each other.
    """
    identity = (comment.email or "").lower() or comment.author or f"#{comment.id}"
    return keyed_hash(keys.avatar, identity)


def web_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) URL, else None: only such a URL ever becomes a link."""
    if value and value[:8].lower().startswith(("https://", "http://")):
        return value
    return None


def reactions(rows: tuple[Reactor, ...]) -> dict[str, Any]:
    """``{"like": {"count": n, "people": [{"name", "url"}, ...]}, "repost": ..., "bookmark":
    ...}``: every kind present, people newest first (at most ``REACTION_PEOPLE``)."""
    found: dict[str, Any] = {kind: {"count": 0, "people": []} for kind in REACTIONS}
    for row in rows:
        entry = found[row.kind]
        entry["count"] = row.count
        entry["people"].append({"name": row.name, "url": web_url(row.url)})
    return found


def gravatar(comment: PageComment) -> str | None:
    """Gravatar's MD5 of the email: published only when the site turns Gravatar on."""
    if not comment.email:
        return None
    return hashlib.md5(comment.email.strip().lower().encode(), usedforsecurity=False).hexdigest()


class Presenter:
    """Turns comments and threads into their public JSON shapes for one configured site."""

    def __init__(
        self, keys: Keys, comments: CommentService, use_gravatar: bool, base_url: str = ""
    ):
        self.keys = keys
        self.comments = comments
        self.use_gravatar = use_gravatar
        self.base_url = base_url  # commentd's public URL, for the kept pictures' addresses

    def comment(self, item: PageComment) -> dict[str, Any]:
        """A comment as every reader may see it."""
        if item.status == Status.DELETED:
            return {
                "id": item.id,
                "parent": item.parent_id,
                "status": item.status.value,
                "author": None,
                "website": None,
                "html": "",
                "avatar": None,
                "gravatar": None,
                "picture": None,
                "created": timestamp(item.created),
                "modified": timestamp(item.modified),
                "likes": 0,
                "dislikes": 0,
                "pinned": False,
                "type": item.kind or "comment",
                "source": None,
            }
        # A comment caught as spam looks merely held to its author: bots learn nothing.
        status = Status.PENDING if item.status == Status.SPAM else item.status
        return {
            "id": item.id,
            "parent": item.parent_id,
            "status": status.value,
            "author": item.author,
            "website": item.website,
            "html": item.html,
            "avatar": avatar(self.keys, item),
            "gravatar": gravatar(item) if self.use_gravatar else None,
            "picture": f"{self.base_url}/avatars/{item.picture}" if item.picture else None,
            "created": timestamp(item.created),
            "modified": timestamp(item.modified),
            "likes": item.likes,
            "dislikes": item.dislikes,
            "pinned": bool(item.pinned),
            "type": item.kind or "comment",
            "source": web_url(item.source),
        }

    def owned_comment(self, item: Comment) -> dict[str, Any]:
        """A comment as its author sees it: with its Markdown source and edit deadline."""
        data = self.comment(item)
        data["text"] = item.text
        data["editable_until"] = timestamp(self.comments.editable_until(item))
        return data

    def node(self, item: Node) -> dict[str, Any]:
        """A comment with its nested replies (recursion is bounded by ``max_depth``)."""
        data = self.comment(item.comment)
        data["replies"] = [self.node(reply) for reply in item.replies]
        return data

    def thread_page(self, page: ThreadPage) -> dict[str, Any]:
        return {
            "thread": {
                "uri": page.uri,
                "title": page.title,
                "total": page.total,
                "locked": page.locked,
            },
            "sort": page.sort,
            "comments": [self.node(item) for item in page.comments],
            "cursor": page.cursor,
            "reactions": reactions(page.reactions),
        }
