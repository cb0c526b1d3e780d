"""Turning comment events into outbox messages: mail to the admin, reply mail, webhooks.

(Skeleton: filled in by the notifications work.)
"""

from __future__ import annotations

from commentd.config import Config
from commentd.services.keys import Keys
from commentd.storage.models import Comment


class Notifier:
    """Listens to comment events and queues what they should send (see ``events.Events``)."""

    def __init__(self, config: Config, keys: Keys):
        self.config = config
        self.keys = keys

    def comment_created(self, comment: Comment) -> None:
        return None

    def comment_approved(self, comment: Comment) -> None:
        return None

    def comment_deleted(self, comment: Comment) -> None:
        return None
