"""Other servers' documents: actors (with the key that signs their requests) and objects.

Every fetch goes through ``services.fetch`` (bounded in time, size and redirects; public
addresses only unless the test-only ``[webmention] allow_private_addresses``), is signed by
the account (servers in "authorized fetch" mode answer nothing else) and must answer
ActivityPub JSON whose ``id`` is on the host it was fetched from, so that no server can speak
for another. Actors are kept in ``remote_actor``: a signature is checked against the kept key
first, and the actor is fetched again only when that fails (the key was rotated) or the copy
is older than ``REFRESH``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from commentd.config import Config
from commentd.errors import CommentdError
from commentd.services.fediverse import signatures
from commentd.services.fediverse.documents import ACTIVITY_JSON, Account
from commentd.services.fediverse.keys import KeyPair
from commentd.services.fetch import FetchError, fetch, limits_for
from commentd.services.webmention_verify import web_url
from commentd.storage.database import write_transaction
from commentd.storage.models import RemoteActor, utcnow
from commentd.version import __version__

USER_AGENT = f"commentd/{__version__} (ActivityPub)"
ACCEPT = f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json")
ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")
REFRESH = dt.timedelta(days=3)
MAX_NAME = 256
MAX_KEY = 16_384


class RemoteError(CommentdError):
    """A remote document that could not be fetched or is not what it should be."""

    status = 401
    code = "remote_unavailable"


def first(value: Any) -> Any:
    """The first item of a list, or the value itself."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


MAX_ID = 1024


ID_PATTERN = r"^[!-~]{1,1024}$"  # the OpenAPI schema's for an activity's and actor's ids
_ID = re.compile(ID_PATTERN)


def clean_id(value: Any) -> str | None:
    """``value`` when it can be an id: 1 to ``MAX_ID`` printable ASCII characters, as a URI
    is written (no white space, no control character: no NUL, which PostgreSQL refuses in
    any text, no lone surrogate); else None."""
    if not isinstance(value, str) or not _ID.match(value):
        return None
    return value


def id_of(value: Any) -> str | None:
    """The id of an object given as its id or embedded (``{"id": ...}``); None when there
    is none or it cannot be an id (``clean_id``)."""
    value = first(value)
    if isinstance(value, dict):
        value = value.get("id")
    return clean_id(value)


def plain(value: Any, limit: int) -> str | None:
    """A name from another server as plain text: control characters dropped, white space
    collapsed, at most ``limit`` characters; None when nothing is left."""
    if not isinstance(value, str):
        return None
    text = " ".join("".join(ch for ch in value if ch.isprintable() or ch.isspace()).split())
    return text[:limit] or None


def link_of(value: Any) -> str | None:
    """An http(s) URL from a ``url``/``icon`` value: a string, a ``Link``/``Image`` or a list."""
    if isinstance(value, list):
        for item in value:
            found = link_of(item)
            if found:
                return found
        return None
    if isinstance(value, dict):
        return link_of(value.get("href") or value.get("url"))
    return web_url(value)


def origin(url: str) -> tuple[str, str]:
    """``url``'s scheme and host, lower-cased; empty for a URL that cannot be split (a bad
    IPv6 literal), which is then nobody's origin."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", ""
    return parts.scheme.lower(), parts.netloc.lower()


def without_fragment(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise RemoteError(f"Not an http(s) URL: {url[:200]!r}.", code="remote_bad_url") from None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def host_of(url: str) -> str | None:
    """``url``'s host name; None when it has none or cannot be split."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


class Remote:
    """Fetches and keeps other servers' actors and objects for one account."""

    def __init__(
        self,
        config: Config,
        keys: Callable[[], KeyPair],
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.account = Account(config)
        self.keys = keys
        self.clock = clock
        self.limits = limits_for(config.webmention)

    # -- documents ----------------------------------------------------------------------

    def document(self, url: str) -> dict[str, Any]:
        """The ActivityPub JSON at ``url``; its ``id`` must be on the host it came from."""
        if web_url(url) is None:
            raise RemoteError(f"Not an http(s) URL: {url[:200]!r}.", code="remote_bad_url")
        headers = signatures.sign(
            self.keys().private_key,
            self.account.key_id,
            "GET",
            url,
            None,
            self.clock(),
            {"Accept": ACCEPT, "User-Agent": USER_AGENT},
        )
        try:
            page = fetch(url, self.limits, headers=headers)
        except FetchError as exc:
            raise RemoteError(exc.message, code="remote_unavailable") from None
        if page.status == 410:
            raise RemoteError(f"{url[:200]} is gone (410).", code="remote_gone")
        if not 200 <= page.status < 300:
            raise RemoteError(f"{url[:200]} answered {page.status}.", code="remote_unavailable")
        if page.content_type not in JSON_TYPES:
            raise RemoteError(
                f"{url[:200]} is not ActivityPub JSON ({page.content_type or 'no type'}).",
                code="remote_invalid",
            )
        try:
            document = json.loads(page.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise RemoteError(f"{url[:200]} is not JSON.", code="remote_invalid") from None
        found = id_of(document) if isinstance(document, dict) else None
        if not found or origin(found) != origin(page.url) or origin(found) != origin(url):
            raise RemoteError(
                f"{url[:200]} is not a document of its own host.", code="remote_invalid"
            )
        return document

    # -- actors -------------------------------------------------------------------------

    def actor(self, uri: str, *, refresh: bool = False) -> RemoteActor:
        """The actor ``uri``, from the copy kept unless ``refresh`` or it is stale."""
        kept = RemoteActor.get_or_none(RemoteActor.uri == uri)
        if kept is not None and not refresh and self.clock() - kept.fetched < REFRESH:
            return kept
        try:
            return self._store(self.document(uri), uri)
        except RemoteError:
            if kept is not None and not refresh:
                return kept  # the copy kept serves until the server answers again
            raise

    def signer(self, key_id: str, *, refresh: bool = False) -> RemoteActor:
        """The actor whose key is ``key_id``: kept, or fetched (the key's document is the
        actor itself, or a key whose ``owner`` is the actor)."""
        if clean_id(key_id) is None:
            raise RemoteError("The key id cannot be an id.", code="remote_bad_url")
        if not refresh:
            kept = RemoteActor.get_or_none(RemoteActor.key_id == key_id)
            if kept is not None:
                return kept
        document = self.document(without_fragment(key_id))
        if document.get("type") not in ACTOR_TYPES and isinstance(document.get("owner"), str):
            owner = document["owner"]
            if origin(owner) != origin(key_id):
                raise RemoteError("The key's owner is on another host.", code="remote_invalid")
            document = self.document(owner)
        actor = self._store(document, id_of(document) or "")
        if actor.key_id != key_id:
            raise RemoteError("The signer's actor does not list that key.", code="remote_invalid")
        return actor

    def _store(self, document: dict[str, Any], uri: str) -> RemoteActor:
        """Keep (insert or update) the actor ``document`` says, after checking it."""
        if document.get("type") not in ACTOR_TYPES or id_of(document) != uri:
            raise RemoteError(f"{uri[:200]} is not an actor.", code="remote_invalid")
        key = first(document.get("publicKey"))
        pem = key.get("publicKeyPem") if isinstance(key, dict) else None
        key_id = key.get("id") if isinstance(key, dict) else None
        inbox = web_url(document.get("inbox"))
        key_id = clean_id(key_id)
        if not (isinstance(pem, str) and len(pem) <= MAX_KEY and key_id):
            raise RemoteError(f"{uri[:200]} has no public key.", code="remote_invalid")
        if origin(key_id) != origin(uri) or inbox is None:
            raise RemoteError(f"{uri[:200]} is not a valid actor.", code="remote_invalid")
        signatures.load_public_key(pem)  # refused here rather than at each check
        endpoints = document.get("endpoints")
        shared = web_url(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
        username = plain(document.get("preferredUsername"), MAX_NAME)
        name = plain(document.get("name"), MAX_NAME)
        host = urlsplit(uri).netloc.lower()
        fields = {
            "key_id": key_id,
            "public_key": pem,
            "inbox": inbox,
            "shared_inbox": shared,
            "name": (name or username or host)[:MAX_NAME],
            "handle": f"{username}@{host}"[:MAX_NAME] if username else None,
            "url": link_of(document.get("url")) or web_url(uri),
            "icon": link_of(document.get("icon")),
            "fetched": self.clock(),
        }
        with write_transaction():
            kept = RemoteActor.get_or_none(RemoteActor.uri == uri)
            if kept is None:
                return RemoteActor.create(uri=uri, **fields)
            for name_, value in fields.items():
                setattr(kept, name_, value)
            kept.save()
            return kept
