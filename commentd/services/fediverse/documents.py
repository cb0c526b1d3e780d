"""The account's addresses and the JSON documents served for it: the WebFinger answer, the
actor, NodeInfo, a published post (``Article``), a comment of the blog's (``Note``), the
collections, and the activities sent to followers.

Every address is built from ``[server] public_url`` (the account's host) and ids kept in
the database, never from what a request names. Only the two JSON-LD contexts every
implementation carries offline are used (ActivityStreams and security v1).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any
from urllib.parse import urlsplit

from commentd.config import Config
from commentd.services.pages import page_url, permalink
from commentd.storage.models import Comment, FediversePost
from commentd.version import __version__

ACTIVITY_JSON = "application/activity+json"
JSON_TYPES = (ACTIVITY_JSON, "application/ld+json")
AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
PUBLIC = AS + "#Public"
NODEINFO = "http://nodeinfo.diaspora.software/ns/schema/2.1"
OUTBOX_PAGE = 20


def iso(moment: dt.datetime) -> str:
    """A time as ActivityStreams writes it: ``2026-12-04T10:00:00Z``."""
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class Account:
    """The blog's account: its names and the address of each of its documents."""

    def __init__(self, config: Config):
        self.config = config
        self.base = config.public_url
        self.host = urlsplit(self.base).netloc.lower()
        self.name = config.fediverse.account
        self.handle = f"{self.name}@{self.host}"
        self.actor = f"{self.base}/ap/actor"
        self.key_id = f"{self.actor}#main-key"
        self.inbox = f"{self.base}/ap/inbox"
        self.outbox = f"{self.base}/ap/outbox"
        self.followers = f"{self.base}/ap/followers"
        self.following = f"{self.base}/ap/following"

    def post_id(self, thread_id: int) -> str:
        return f"{self.base}/ap/posts/{thread_id}"

    def comment_id(self, comment_id: int) -> str:
        return f"{self.base}/ap/comments/{comment_id}"

    def local_id(self, uri: str, kind: str) -> int | None:
        """The thread (``kind="posts"``) or comment (``"comments"``) id that ``uri`` is the
        object of; None when it is not one of ours."""
        prefix = f"{self.base}/ap/{kind}/"
        if not uri.startswith(prefix):
            return None
        rest = uri[len(prefix) :]
        return int(rest) if rest.isdigit() and len(rest) <= 18 else None

    def is_resource(self, resource: str) -> bool:
        """Whether a WebFinger ``resource`` names this account."""
        value = resource.strip()
        if value.lower().startswith("acct:"):
            user, _, host = value[5:].partition("@")
            return user.lower() == self.name.lower() and host.lower() == self.host
        return value in (self.actor, self.base + "/@" + self.name)

    # -- discovery ----------------------------------------------------------------------

    def webfinger(self) -> dict[str, Any]:
        """The JRD (RFC 7033) of ``acct:name@host``."""
        return {
            "subject": f"acct:{self.handle}",
            "aliases": [self.actor],
            "links": [
                {"rel": "self", "type": ACTIVITY_JSON, "href": self.actor},
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": self.profile_url(),
                },
            ],
        }

    def nodeinfo_links(self) -> dict[str, Any]:
        return {"links": [{"rel": NODEINFO, "href": f"{self.base}/nodeinfo/2.1"}]}

    def nodeinfo(self, posts: int) -> dict[str, Any]:
        """NodeInfo 2.1: one account, its posts, no sign-ups."""
        return {
            "version": "2.1",
            "software": {"name": "commentd", "version": __version__},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
            "openRegistrations": False,
            "usage": {
                "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
                "localPosts": posts,
            },
            "metadata": {"nodeName": self.display_name()},
        }

    def profile_url(self) -> str:
        return self.config.site.url or self.base + "/"

    def display_name(self) -> str:
        return self.config.fediverse.display_name or self.name

    # -- the actor ----------------------------------------------------------------------

    def actor_document(self, public_pem: str) -> dict[str, Any]:
        """The actor: a ``Service`` (it posts by itself), with its key and endpoints."""
        settings = self.config.fediverse
        document: dict[str, Any] = {
            "@context": [AS, SECURITY],
            "id": self.actor,
            "type": "Service",
            "preferredUsername": self.name,
            "name": self.display_name(),
            "summary": f"<p>{html.escape(settings.summary)}</p>" if settings.summary else "",
            "url": self.profile_url(),
            "inbox": self.inbox,
            "outbox": self.outbox,
            "followers": self.followers,
            "following": self.following,
            "endpoints": {"sharedInbox": self.inbox},
            "manuallyApprovesFollowers": False,
            "discoverable": True,
            "publicKey": {"id": self.key_id, "owner": self.actor, "publicKeyPem": public_pem},
        }
        if settings.icon_url:
            kind = "image/png" if settings.icon_url.lower().endswith(".png") else "image/jpeg"
            document["icon"] = {"type": "Image", "mediaType": kind, "url": settings.icon_url}
        return document

    def collection(self, url: str, total: int, items: list[Any] | None = None) -> dict[str, Any]:
        """An ``OrderedCollection``; ``items`` None gives its size alone (the followers)."""
        document: dict[str, Any] = {
            "@context": AS,
            "id": url,
            "type": "OrderedCollection",
            "totalItems": total,
        }
        if items is not None:
            document["orderedItems"] = items
        return document

    # -- posts --------------------------------------------------------------------------

    def article(self, post: FediversePost, *, context: bool = True) -> dict[str, Any]:
        """A published thread as an ``Article``: its title, summary and link."""
        link = html.escape(post.url)
        summary = f"<p>{html.escape(post.summary)}</p>" if post.summary else ""
        document: dict[str, Any] = {
            "id": self.post_id(post.thread_id),
            "type": "Article",
            "attributedTo": self.actor,
            "name": post.title,
            "summary": post.summary or None,
            "content": f'{summary}<p><a href="{link}">{link}</a></p>',
            "url": post.url,
            "published": iso(post.published),
            "to": [PUBLIC],
            "cc": [self.followers],
        }
        if post.updated is not None:
            document["updated"] = iso(post.updated)
        if context:
            document = {"@context": AS, **document}
        return document

    def note(self, comment: Comment, in_reply_to: str, *, context: bool = True) -> dict[str, Any]:
        """One of the blog's own comments as a ``Note`` of the account, a reply in the tree."""
        author = html.escape(comment.author or "")
        said = f"<p><strong>{author}</strong>:</p>" if author else ""
        document: dict[str, Any] = {
            "id": self.comment_id(comment.id),
            "type": "Note",
            "attributedTo": self.actor,
            "inReplyTo": in_reply_to,
            "content": said + comment.html.strip(),
            "url": permalink(self.config, comment.thread.uri, comment.id),
            "published": iso(comment.created),
            "to": [PUBLIC],
            "cc": [self.followers],
        }
        if comment.modified is not None:
            document["updated"] = iso(comment.modified)
        if context:
            document = {"@context": AS, **document}
        return document

    def activity(
        self, kind: str, obj: Any, activity_id: str, when: dt.datetime, to=None, cc=None
    ) -> dict[str, Any]:
        """An activity of the account (``Create``, ``Update``, ``Delete``, ``Accept``)."""
        return {
            "@context": AS,
            "id": activity_id,
            "type": kind,
            "actor": self.actor,
            "published": iso(when),
            "to": to if to is not None else [PUBLIC],
            "cc": cc if cc is not None else [self.followers],
            "object": obj,
        }

    def page_of(self, uri: str) -> str:
        return page_url(self.config, uri)
