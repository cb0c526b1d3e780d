"""The outbox: mail, webhooks, Webmentions to send and Webmentions received to verify,
queued in the database, and the worker that sends them.

A message is written by ``enqueue`` inside the transaction that causes it, so a rolled-back
comment sends nothing. A ``Worker`` claims due rows with a lease (a conditional UPDATE, so two
workers in any number of processes never send the same row at once), sends each through the
handler for its kind, and marks it sent; a failure is retried after ``[outbox] retry_delay``,
doubling each time up to six hours, until ``[outbox] max_attempts``, then the row is failed.
A worker that dies mid-send leaves its lease behind; once the lease runs out the row is due
again, so a crash delays a message but never loses it. Before each pass a worker runs its
scheduled ``steps`` (the admin's digest), which queue messages of their own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from peewee import fn

from commentd.config import Config
from commentd.errors import Conflict, NotFound, ValidationError
from commentd.services import audit, metrics
from commentd.services.audit import Actor
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger("commentd.outbox")

STATUSES = tuple(status.value for status in OutboxStatus)
MAX_BACKOFF = 6 * 3600
POLL_INTERVAL = 2.0
LEASE_MARGIN = 5
LEASE_FACTOR = 4
BATCH = 20
MAX_ERROR = 1000

Handler = Callable[[str, dict[str, Any]], None]
"""Sends one message: ``handler(recipient, payload)``; raises on failure."""


class PermanentFailure(Exception):
    """Raised by a handler when trying again cannot help (the recipient refused the message
    for good): the message is failed at once instead of retried."""


Step = Callable[[dt.datetime], object]
"""Scheduled work a worker runs before each pass, given the time (it may queue messages)."""

_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


def _wake_all() -> None:
    with _wakers_lock:
        for event in _wakers:
            event.set()


# -- the queue --------------------------------------------------------------------------


def enqueue(kind: str, recipient: str, payload: Mapping[str, Any]) -> OutboxMessage:
    """Queue a message; call it inside the transaction that causes it.

    Workers in this process are woken at once; others find the row on their next poll.
    """
    message = OutboxMessage.create(
        kind=kind,
        recipient=recipient,
        payload=json.dumps(dict(payload), ensure_ascii=False, sort_keys=True),
        status=OutboxStatus.PENDING.value,
        next_attempt=utcnow(),
        created=utcnow(),
    )
    _wake_all()
    return message


def payload_of(message: OutboxMessage) -> dict[str, Any]:
    """A message's payload as a mapping."""
    value = json.loads(message.payload)
    return value if isinstance(value, dict) else {}


def messages(status: str | None = None, limit: int = 50, offset: int = 0) -> list[OutboxMessage]:
    """Queued, sent and failed messages, the newest first; ``status`` filters."""
    query = OutboxMessage.select()
    if status:
        if status not in STATUSES:
            raise ValidationError(
                f"status must be one of {', '.join(STATUSES)}.",
                code="invalid_value",
                field="status",
            )
        query = query.where(OutboxMessage.status == status)
    query = query.order_by(OutboxMessage.created.desc(), OutboxMessage.id.desc())
    limit = max(1, min(int(limit), 500))
    return list(query.limit(limit).offset(max(0, int(offset))))


def counts() -> dict[str, int]:
    """How many messages there are in each status (every status is a key)."""
    rows = OutboxMessage.select(OutboxMessage.status, fn.COUNT(OutboxMessage.id)).group_by(
        OutboxMessage.status
    )
    found = dict.fromkeys(STATUSES, 0)
    found.update({status: count for status, count in rows.tuples() if status in found})
    return found


def retry(message_id: int, actor: Actor) -> OutboxMessage:
    """Send a failed message again: it becomes pending, due now, with a fresh attempt count;
    ``actor`` is written to the audit log with it."""
    with write_transaction():
        message = OutboxMessage.get_or_none(OutboxMessage.id == message_id)
        if message is None:
            raise NotFound(f"No outbox message {message_id}.", code="message_not_found")
        if message.status != OutboxStatus.FAILED.value:
            raise Conflict(
                f"Message {message_id} is {message.status}; only failed ones can be retried.",
                code="message_not_failed",
            )
        message.status = OutboxStatus.PENDING.value
        message.attempts = 0
        message.next_attempt = utcnow()
        message.lease_until = None
        message.save()
        audit.record(actor, "retry", "outbox", message.id, {"kind": message.kind})
    _wake_all()
    return message


def backoff(retry_delay: int, attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failure: the delay doubling, at most 6 h."""
    return min(retry_delay * 2 ** max(0, attempts - 1), MAX_BACKOFF)


def default_handlers(config: Config) -> dict[str, Handler]:
    """One sender per kind: ``email`` through SMTP, ``webhook`` through HTTP, ``akismet``
    (moderators' decisions) to Akismet, ``webmention_send`` to the target's endpoint, and
    ``webmention``, the verification of a received Webmention (its source fetched and read),
    ``activitypub``, an activity of the account delivered to an inbox, and ``avatar``, a
    remote author's picture fetched to be kept."""
    from commentd.services import avatars, mail, spam, webhooks, webmention_send, webmention_verify
    from commentd.services.fediverse import delivery

    akismet = spam.akismet_for(config.moderation, config.public_url)
    return {
        spam.KIND: akismet.submit,
        mail.KIND: lambda recipient, payload: mail.send(config.mail, mail.build(payload)),
        webhooks.KIND: lambda recipient, payload: webhooks.deliver(
            config.webhooks, recipient, payload
        ),
        webmention_send.KIND: lambda recipient, payload: webmention_send.deliver(
            config.webmention, recipient, payload
        ),
        webmention_verify.KIND: webmention_verify.Verifier(config),
        delivery.KIND: delivery.Deliverer(config),
        avatars.KIND: avatars.Fetcher(config),
    }


def default_steps(config: Config) -> list[Step]:
    """The admin's digest, when ``[mail] admin_digest`` asks for one, and the reading of
    the blog's feed, when ``[fediverse] feed_url`` is set."""
    steps: list[Step] = []
    if config.mail.admin_digest != "off":
        from commentd.services.digest import AdminDigest

        steps.append(AdminDigest(config))
    if config.federates and config.fediverse.feed_url:
        from commentd.services.fediverse.feed import FeedReader

        steps.append(FeedReader(config))
    return steps


# -- the worker -------------------------------------------------------------------------


class Worker(threading.Thread):
    """Sends due messages in the background until ``stop()``.

    ``lease`` (seconds) must outlast one send; by default it is four times the longest of the
    mail, webhook and webmention timeouts, plus 5 s. ``clock`` and ``handlers`` are for tests.
    """

    def __init__(
        self,
        config: Config,
        *,
        handlers: Mapping[str, Handler] | None = None,
        steps: Sequence[Step] | None = None,
        poll_interval: float = POLL_INTERVAL,
        lease: int | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        super().__init__(name="commentd-outbox", daemon=True)
        self.config = config
        self.handlers = dict(handlers if handlers is not None else default_handlers(config))
        self.steps = list(steps if steps is not None else default_steps(config))
        self.poll_interval = poll_interval
        longest = max(config.mail.timeout, config.webhooks.timeout, config.webmention.timeout)
        self.lease = lease if lease is not None else LEASE_FACTOR * longest + LEASE_MARGIN
        self.clock = clock
        self._wake = threading.Event()
        self._stopped = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        with _wakers_lock:
            _wakers.add(self._wake)
        super().start()

    def stop(self, timeout: float | None = 30) -> None:
        """Finish the message under way, then end the thread."""
        self._stopped.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)
        with _wakers_lock:
            _wakers.discard(self._wake)

    def wake(self) -> None:
        """Look for due messages now."""
        self._wake.set()

    def run(self) -> None:
        while not self._stopped.is_set():
            woken = self._wake.is_set()
            self._wake.clear()
            try:
                sent = self.run_once()
                if woken and not sent:
                    # woken by an enqueue whose transaction may not have committed yet
                    for pause in (0.05, 0.25):
                        if self._stopped.wait(pause) or self.run_once():
                            break
            except Exception:
                log.exception("outbox worker error; retrying in %.0f s", self.poll_interval)
            self._wake.wait(self.poll_interval)

    # -- one pass -----------------------------------------------------------------------

    def run_once(self) -> int:
        """Send every message due now, each at most once; the number handled."""
        handled: set[int] = set()
        with connection():
            for step in self.steps:
                try:
                    step(self.clock())
                except Exception:  # a step's failure must not stop the sending
                    log.exception("outbox step %r failed", step)
            while not self._stopped.is_set():
                batch = [i for i in self._due_ids() if i not in handled]
                if not batch:
                    break
                for message_id in batch:
                    handled.add(message_id)
                    if self._stopped.is_set():
                        break
                    claimed = self._claim(message_id)
                    if claimed is not None:
                        self._send(*claimed)
        return len(handled)

    def _due(self, now: dt.datetime):
        return (
            (OutboxMessage.status == OutboxStatus.PENDING.value)
            & (OutboxMessage.next_attempt <= now)
            & (OutboxMessage.lease_until.is_null() | (OutboxMessage.lease_until < now))
        )

    def _due_ids(self) -> list[int]:
        query = (
            OutboxMessage.select(OutboxMessage.id)
            .where(self._due(self.clock()))
            .order_by(OutboxMessage.next_attempt, OutboxMessage.id)
            .limit(BATCH)
        )
        return [row.id for row in query]

    def _claim(self, message_id: int) -> tuple[OutboxMessage, dt.datetime] | None:
        """Take the lease on one row; ``None`` when another worker got there first."""
        now = self.clock()
        lease_until = now + dt.timedelta(seconds=self.lease)
        with write_transaction():
            taken = (
                OutboxMessage.update(lease_until=lease_until, attempts=OutboxMessage.attempts + 1)
                .where((OutboxMessage.id == message_id) & self._due(now))
                .execute()
            )
            if taken != 1:
                return None
            return OutboxMessage.get_by_id(message_id), lease_until

    def _send(self, message: OutboxMessage, lease_until: dt.datetime) -> None:
        mine = (OutboxMessage.id == message.id) & (OutboxMessage.lease_until == lease_until)
        try:
            handler = self.handlers.get(message.kind)
            if handler is None:
                raise LookupError(f"no sender for messages of kind {message.kind!r}")
            handler(message.recipient, payload_of(message))
        except Exception as exc:
            self._failed(message, mine, exc)
            return
        metrics.OUTBOX.inc({"kind": message.kind, "outcome": "sent"})
        with write_transaction():
            done = (
                OutboxMessage.update(
                    status=OutboxStatus.SENT.value,
                    sent=self.clock(),
                    lease_until=None,
                    last_error=None,
                )
                .where(mine)
                .execute()
            )
        if not done:
            log.warning("outbox message %d was sent after its lease ran out", message.id)

    def _failed(self, message: OutboxMessage, mine: Any, exc: Exception) -> None:
        limit = self.config.outbox.max_attempts
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        final = (
            message.attempts >= limit
            or message.kind not in self.handlers
            or isinstance(exc, PermanentFailure)
        )
        metrics.OUTBOX.inc({"kind": message.kind, "outcome": "failed" if final else "retry"})
        log.warning(
            "outbox message %d (%s) failed, attempt %d of %d%s: %s",
            message.id,
            message.kind,
            message.attempts,
            limit,
            "; giving up" if final else "",
            error,
        )
        changes: dict[str, Any] = {"lease_until": None, "last_error": error}
        if final:
            changes["status"] = OutboxStatus.FAILED.value
        else:
            delay = backoff(self.config.outbox.retry_delay, message.attempts)
            changes["next_attempt"] = self.clock() + dt.timedelta(seconds=delay)
        with write_transaction():
            OutboxMessage.update(**changes).where(mine).execute()
