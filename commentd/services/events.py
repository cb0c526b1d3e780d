"""What other parts of commentd hear about comments: the seam notifications plug into.

Events are raised inside the write transaction that causes them, so whatever a listener
writes (outbox rows) commits or rolls back together with the change itself.
"""

from __future__ import annotations

from typing import Protocol

from commentd.storage.models import Comment


class Events(Protocol):
    """Listeners for comment events."""

    def comment_created(self, comment: Comment) -> None:
        """A new comment was stored (any status)."""

    def comment_approved(self, comment: Comment) -> None:
        """A held comment was approved by a moderator."""

    def comment_deleted(self, comment: Comment) -> None:
        """A comment was deleted by its author or a moderator (``comment`` is already erased)."""

    def comment_hidden(self, comment: Comment, reports: int) -> None:
        """An approved comment went back to pending after ``reports`` readers reported it."""


class NoEvents:
    """Listens to nothing: for tools and tests that want no mail and no webhooks."""

    def comment_created(self, comment: Comment) -> None:
        return None

    def comment_approved(self, comment: Comment) -> None:
        return None

    def comment_deleted(self, comment: Comment) -> None:
        return None

    def comment_hidden(self, comment: Comment, reports: int) -> None:
        return None


class AllEvents:
    """Tells every one of ``listeners``, in order."""

    def __init__(self, *listeners: Events):
        self.listeners = listeners

    def comment_created(self, comment: Comment) -> None:
        for listener in self.listeners:
            listener.comment_created(comment)

    def comment_approved(self, comment: Comment) -> None:
        for listener in self.listeners:
            listener.comment_approved(comment)

    def comment_deleted(self, comment: Comment) -> None:
        for listener in self.listeners:
            listener.comment_deleted(comment)

    def comment_hidden(self, comment: Comment, reports: int) -> None:
        for listener in self.listeners:
            listener.comment_hidden(comment, reports)
