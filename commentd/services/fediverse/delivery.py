"""Delivering the account's activities: outbox messages of kind ``activitypub``, one per
inbox (a server's shared inbox once for all its followers), signed by the account.

``queue`` writes the messages inside the caller's transaction; the worker's handler
``Deliverer`` POSTs each, signed (``signatures.sign``), following no redirect. A 2xx answer
is delivered; 408, 429 and 5xx answers and network trouble are tried again with the
outbox's backoff; any other 4xx is refused for good (``PermanentFailure``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from commentd.config import Config
from commentd.services import bans, metrics, outbox
from commentd.services.fediverse import signatures
from commentd.services.fediverse.documents import ACTIVITY_JSON, Account
from commentd.services.fediverse.keys import KeyPair, account_keys
from commentd.services.fediverse.remote import USER_AGENT
from commentd.services.fetch import FetchError, fetch, limits_for
from commentd.services.webmention_verify import FINAL_FETCH_ERRORS
from commentd.storage.models import Follower, RemoteActor, utcnow

KIND = "activitypub"
RETRIED = (408, 425, 429)


def delivery_inbox(actor: RemoteActor) -> str:
    """Where to deliver to ``actor``: its server's shared inbox, else its own."""
    return actor.shared_inbox or actor.inbox


def follower_inboxes() -> list[str]:
    """Each distinct inbox of the followers, banned domains left out."""
    domains = bans.lists().domains
    found: dict[str, None] = {}
    query = RemoteActor.select().join(Follower).order_by(Follower.id)
    for actor in query:
        if not bans.domain_banned(urlsplit(actor.uri).hostname, domains):
            found.setdefault(delivery_inbox(actor))
    return list(found)


def followers() -> list[dict[str, Any]]:
    """Every follower, oldest first: its handle, actor id and since when."""
    query = (
        Follower.select(Follower.created, RemoteActor.handle, RemoteActor.uri)
        .join(RemoteActor)
        .order_by(Follower.created, Follower.id)
        .dicts()
    )
    return [{"handle": row["handle"], "uri": row["uri"], "since": row["created"]} for row in query]


def queue(activity: dict[str, Any], inboxes: Iterable[str]) -> int:
    """Queue ``activity`` for each of ``inboxes`` (call it inside the write transaction
    that causes it); how many were queued."""
    count = 0
    for inbox in dict.fromkeys(inboxes):
        outbox.enqueue(KIND, inbox, {"activity": activity})
        count += 1
    return count


class Deliverer:
    """The outbox handler: POST one activity to one inbox."""

    def __init__(
        self,
        config: Config,
        keys: Callable[[], KeyPair] = account_keys,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.account = Account(config)
        self.keys = keys
        self.clock = clock
        # no redirect: it would break the signature of (request-target)
        self.limits = dataclasses.replace(limits_for(config.webmention), max_redirects=0)

    def __call__(self, inbox: str, payload: dict[str, Any]) -> None:
        activity = payload["activity"]
        body = json.dumps(activity, ensure_ascii=False, separators=(",", ":")).encode()
        headers = signatures.sign(
            self.keys().private_key,
            self.account.key_id,
            "POST",
            inbox,
            body,
            self.clock(),
            {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON, "User-Agent": USER_AGENT},
        )
        try:
            page = fetch(inbox, self.limits, method="POST", body=body, headers=headers)
        except FetchError as exc:
            final = exc.code in FINAL_FETCH_ERRORS
            metrics.FEDIVERSE_DELIVERIES.inc({"outcome": "refused" if final else "retry"})
            if final:
                raise outbox.PermanentFailure(exc.message) from None
            raise
        kind = str(activity.get("type", "other"))
        if 200 <= page.status < 300:
            metrics.FEDIVERSE_DELIVERIES.inc({"outcome": "delivered"})
            return
        message = f"{inbox[:200]} answered {page.status} to {kind}"
        if page.status in RETRIED or page.status >= 500 or page.status < 400:
            metrics.FEDIVERSE_DELIVERIES.inc({"outcome": "retry"})
            raise RuntimeError(message)
        metrics.FEDIVERSE_DELIVERIES.inc({"outcome": "refused"})
        raise outbox.PermanentFailure(message)
