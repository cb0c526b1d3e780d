"""The outbox: queued in the causing transaction, claimed with a lease, retried with backoff."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from commentd.errors import CommentdError
from commentd.services import outbox
from commentd.services.audit import SYSTEM
from commentd.services.site import open_site
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import OutboxMessage, utcnow
from tests.net import free_port
from tests.services.test_mail import Mailbox, mailbox  # noqa: F401 - a fixture


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def db(config):
    open_site(config)
    with connection():
        yield


def test_enqueue_rolls_back_with_its_transaction(db):
    class Boom(Exception):
        pass

    def queue_then_fail() -> None:
        with write_transaction():
            outbox.enqueue("email", "a@example.com", {"x": 1})
            raise Boom

    with pytest.raises(Boom):
        queue_then_fail()
    assert outbox.counts() == {"pending": 0, "sent": 0, "failed": 0}
    with write_transaction():
        message = outbox.enqueue("email", "a@example.com", {"x": 1})
    assert outbox.payload_of(message) == {"x": 1}
    assert outbox.counts() == {"pending": 1, "sent": 0, "failed": 0}


def test_messages_are_listed_newest_first_and_filtered(db):
    first = outbox.enqueue("email", "a@example.com", {})
    second = outbox.enqueue("webhook", "https://hooks.example/x", {})
    assert [m.id for m in outbox.messages()] == [second.id, first.id]
    assert [m.id for m in outbox.messages(limit=1, offset=1)] == [first.id]
    assert outbox.messages("sent") == []
    with pytest.raises(CommentdError) as caught:
        outbox.messages("lost")
    assert caught.value.code == "invalid_value"


def test_retry_needs_a_failed_message(db):
    message = outbox.enqueue("email", "a@example.com", {})
    with pytest.raises(CommentdError) as caught:
        outbox.retry(message.id, SYSTEM)
    assert (caught.value.status, caught.value.code) == (409, "message_not_failed")
    with pytest.raises(CommentdError) as caught:
        outbox.retry(999, SYSTEM)
    assert (caught.value.status, caught.value.code) == (404, "message_not_found")


def test_sent_once_and_only_once(db, config):
    sent = []
    worker = outbox.Worker(config, handlers={"email": lambda to, p: sent.append((to, p))})
    outbox.enqueue("email", "a@example.com", {"n": 1})
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert sent == [("a@example.com", {"n": 1})]
    (row,) = outbox.messages()
    assert (row.status, row.attempts, row.lease_until) == ("sent", 1, None)
    assert row.sent is not None


def test_a_down_smtp_server_is_retried_with_doubling_delays_then_failed(make_config):
    config = make_config(
        **{
            "mail.host": "127.0.0.1",
            "mail.port": free_port(),  # nothing listens: connection refused
            "mail.security": "none",
            "mail.admin": "admin@example.com",
            "outbox.max_attempts": 4,
            "outbox.retry_delay": "1m",
        }
    )
    open_site(config)
    clock = Clock()
    worker = outbox.Worker(config, clock=clock)
    from commentd.services import mail

    with connection():
        message = outbox.enqueue(
            "email", "admin@example.com", mail.payload(config.mail, "admin@example.com", "s", "t")
        )
        OutboxMessage.update(next_attempt=clock.now).where(OutboxMessage.id == message.id).execute()
        waits = []
        for attempt in range(1, 5):
            assert worker.run_once() == 1
            row = OutboxMessage.get_by_id(message.id)
            assert row.attempts == attempt
            assert "ConnectionRefusedError" in row.last_error
            assert row.lease_until is None
            if attempt < 4:
                assert row.status == "pending"
                waits.append((row.next_attempt - clock.now).total_seconds())
                clock.advance(waits[-1] - 1)
                assert worker.run_once() == 0  # not due a second early
                clock.advance(1)
        assert waits == [60, 120, 240]
        assert row.status == "failed"
        clock.advance(10**6)
        assert worker.run_once() == 0  # failed rows are never tried again by themselves

        again = outbox.retry(message.id, SYSTEM)
        assert (again.status, again.attempts) == ("pending", 0)


def test_backoff_is_capped_at_six_hours():
    assert [outbox.backoff(60, n) for n in (1, 2, 3)] == [60, 120, 240]
    assert outbox.backoff(3600, 10) == 6 * 3600


def test_a_lease_keeps_others_off_until_it_runs_out(db, config):
    clock = Clock()
    started, finish = threading.Event(), threading.Event()
    calls = []

    def slow(recipient, payload):
        calls.append("first")
        started.set()
        finish.wait(10)
        raise RuntimeError("the first worker died")  # never recorded: its lease ran out

    first = outbox.Worker(config, handlers={"email": slow}, lease=60, clock=clock)
    second = outbox.Worker(
        config, handlers={"email": lambda r, p: calls.append("second")}, lease=60, clock=clock
    )
    message = outbox.enqueue("email", "a@example.com", {})
    OutboxMessage.update(next_attempt=clock.now).where(OutboxMessage.id == message.id).execute()
    thread = threading.Thread(target=first.run_once)
    thread.start()
    try:
        assert started.wait(10)
        assert second.run_once() == 0  # leased: not due
        clock.advance(61)
        assert second.run_once() == 1  # the lease ran out: due again
    finally:
        finish.set()
        thread.join(10)
    row = OutboxMessage.get_by_id(message.id)
    assert calls == ["first", "second"]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)  # not overwritten


def test_concurrent_workers_claim_each_row_once(db, config):
    sent: list[int] = []
    lock = threading.Lock()

    def handler(recipient, payload):
        with lock:
            sent.append(payload["n"])

    for n in range(30):
        outbox.enqueue("email", "a@example.com", {"n": n})
    workers = [outbox.Worker(config, handlers={"email": handler}) for _ in range(4)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(sent) == list(range(30))
    assert outbox.counts() == {"pending": 0, "sent": 30, "failed": 0}


def test_an_unknown_kind_fails_at_once(db, config):
    worker = outbox.Worker(config, handlers={})
    message = outbox.enqueue("pigeon", "coop", {})
    worker.run_once()
    row = OutboxMessage.get_by_id(message.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "pigeon" in row.last_error


def test_the_background_worker_wakes_on_enqueue_and_stops(db, config):
    sent = threading.Event()
    worker = outbox.Worker(config, handlers={"email": lambda r, p: sent.set()}, poll_interval=60)
    worker.start()
    try:
        time.sleep(0.1)  # let it reach its 60 s wait
        started = time.monotonic()
        with write_transaction():
            outbox.enqueue("email", "a@example.com", {})
        assert sent.wait(5)
        assert time.monotonic() - started < 2  # woken, not polled
    finally:
        worker.stop(timeout=5)
    assert not worker.is_alive()


def test_mail_through_the_default_handler(make_config, mailbox):  # noqa: F811
    from commentd.services import mail

    config = make_config(**mailbox.settings())
    open_site(config)
    with connection():
        outbox.enqueue(
            "email", "a@example.com", mail.payload(config.mail, "a@example.com", "Hi", "Body")
        )
        assert outbox.Worker(config).run_once() == 1
        assert outbox.counts()["sent"] == 1
    (got,) = mailbox.received
    assert got.message["Subject"] == "Hi"


def test_mailbox_is_a_real_server(mailbox: Mailbox):  # noqa: F811
    assert mailbox.port > 0
