"""A comment's likes and dislikes: the votes stored as rows, plus a base of votes counted
before commentd kept rows for them (an import's counts: Isso, Remark42 and commentd's own
export give totals, not voters). New votes add to the base; they never replace it."""

from __future__ import annotations

from collections.abc import Iterable

from peewee import Case, fn

from commentd.storage.models import Comment, Vote


def _rows(value: int):
    """The number of ``value`` votes on the comment of the row being updated (a subquery)."""
    return Vote.select(fn.COUNT(Vote.id)).where(
        (Vote.comment == Comment.id) & (Vote.value == value)
    )


def settle_bases(thread_ids: Iterable[int]) -> None:
    """Set each comment's base in these threads to the part of its counts no vote row backs
    (never below zero): after an import wrote counts, and votes for some of them."""
    ids = list(thread_ids)
    if not ids:
        return
    for count, base, value in (
        (Comment.likes, Comment.likes_base, 1),
        (Comment.dislikes, Comment.dislikes_base, -1),
    ):
        unbacked = count - _rows(value)
        Comment.update({base: Case(None, [(unbacked > 0, unbacked)], 0)}).where(
            Comment.thread.in_(ids)
        ).execute()


def recount(comment: Comment) -> None:
    """Store ``comment``'s likes and dislikes: its base plus its vote rows."""
    tally = dict(
        Vote.select(Vote.value, fn.COUNT(Vote.id))
        .where(Vote.comment == comment)
        .group_by(Vote.value)
        .tuples()
    )
    comment.likes = comment.likes_base + tally.get(1, 0)
    comment.dislikes = comment.dislikes_base + tally.get(-1, 0)
    comment.save(only=[Comment.likes, Comment.dislikes])
