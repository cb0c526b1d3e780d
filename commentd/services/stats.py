"""``commentd stats``: comments by status, the busiest threads, the last 30 days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from peewee import fn

from commentd.storage.models import Comment, Status, Thread, utcnow


@dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    threads: int
    top_threads: list[tuple[str, int]]
    by_day: list[tuple[dt.date, int]]


def _day(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def stats(days: int = 30, top: int = 10, clock: Callable[[], dt.datetime] = utcnow) -> Stats:
    """Counts for the whole site; ``by_day`` lists every one of the last ``days`` days."""
    by_status = dict.fromkeys((s.value for s in Status), 0)
    for status, count in (
        Comment.select(Comment.status, fn.COUNT(Comment.id)).group_by(Comment.status).tuples()
    ):
        by_status[Status(status).value] = count
    approved = fn.COUNT(Comment.id)
    top_threads = list(
        Thread.select(Thread.uri, approved)
        .join(Comment)
        .where(Comment.status == Status.APPROVED)
        .group_by(Thread.uri)
        .order_by(approved.desc(), Thread.uri)
        .limit(top)
        .tuples()
    )
    today = clock().date()
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time())
    day = fn.DATE(Comment.created)
    counted: dict[dt.date, int] = {}
    for value, count in (
        Comment.select(day, fn.COUNT(Comment.id))
        .where(Comment.created >= start)
        .group_by(day)
        .tuples()
    ):
        counted[_day(value)] = counted.get(_day(value), 0) + count
    by_day = [(first + dt.timedelta(days=n), 0) for n in range(days)]
    by_day = [(date, counted.get(date, 0)) for date, _ in by_day]
    return Stats(by_status, Thread.select().count(), top_threads, by_day)
