"""What each screening signal caught, and how many of its catches a moderator approved.

A comment held or marked spam by a signal carries the signal's name in ``comment.caught_by``;
a comment refused outright (nothing stored) is counted in ``Refusal`` per day and signal by
``record_refusal``, in a transaction of its own (the refused write rolled back). ``report``
reads both back for ``commentd spam stats`` and the admin page: a catch a moderator later
approved (its comment is approved now) is that signal's false positive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from peewee import EXCLUDED, Case, fn

from commentd.errors import ValidationError
from commentd.services import metrics
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, Refusal, Status, utcnow

SIGNALS = (
    "honeypot",
    "time_trap",
    "proof_of_work",
    "blocklist",
    "link_limit",
    "duplicate",
    "filter",
    "akismet",
)
"""Every signal's name, in the order the screening applies them."""

MAX_DAYS = 366


def _check(signal: str) -> None:
    if signal not in SIGNALS:
        raise ValueError(f"unknown screening signal {signal!r}; one of {', '.join(SIGNALS)}")


def counted(signal: str, action: str) -> None:
    """Count one catch in the metrics: ``action`` is spam, hold or refuse."""
    _check(signal)
    metrics.SCREENING_CATCHES.inc({"signal": signal, "action": action})


def record_refusal(signal: str, clock: Callable[[], dt.datetime] = utcnow) -> None:
    """Count a comment ``signal`` refused without storing it: one atomic increment of
    today's row, in its own write transaction (or the caller's, when one is open)."""
    counted(signal, "refuse")
    day = clock().date()
    with write_transaction():
        Refusal.insert(day=day, signal=signal, count=1).on_conflict(
            conflict_target=[Refusal.day, Refusal.signal],
            update={Refusal.count: Refusal.count + EXCLUDED.count},
        ).execute()


@dataclass(frozen=True)
class SignalStats:
    """One signal over the period: comments it held or marked spam (``stored``), comments it
    refused outright, and how many of those it stored a moderator has approved since."""

    signal: str
    stored: int
    refused: int
    approved: int

    @property
    def caught(self) -> int:
        return self.stored + self.refused


@dataclass(frozen=True)
class CatchReport:
    """Every signal's figures for the ``days`` days up to today (UTC), in ``SIGNALS`` order;
    ``comments`` counts the comments stored in the period, caught or not."""

    days: int
    since: dt.date
    signals: tuple[SignalStats, ...]
    comments: int


def report(days: int = 30, clock: Callable[[], dt.datetime] = utcnow) -> CatchReport:
    """What each signal caught in the last ``days`` days."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            f"days must be a whole number from 1 to {MAX_DAYS}.", code="invalid_value", field="days"
        )
    since = clock().date() - dt.timedelta(days=days - 1)
    in_period = Comment.created >= dt.datetime.combine(since, dt.time())
    approved = fn.SUM(Case(None, [(Comment.status == Status.APPROVED, 1)], 0))
    stored = {
        signal: (total, int(ok or 0))
        for signal, total, ok in Comment.select(Comment.caught_by, fn.COUNT(Comment.id), approved)
        .where(in_period & Comment.caught_by.is_null(False))
        .group_by(Comment.caught_by)
        .tuples()
    }
    refused = dict(
        Refusal.select(Refusal.signal, fn.SUM(Refusal.count))
        .where(Refusal.day >= since)
        .group_by(Refusal.signal)
        .tuples()
    )
    signals = tuple(
        SignalStats(
            signal,
            stored=stored.get(signal, (0, 0))[0],
            refused=int(refused.get(signal) or 0),
            approved=stored.get(signal, (0, 0))[1],
        )
        for signal in SIGNALS
    )
    return CatchReport(days, since, signals, Comment.select().where(in_period).count())
