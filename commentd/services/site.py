"""Opening a site: its database (migrated), its keys, and the services built on them.

``create_app`` and the CLI both start here, so a command acts exactly as the web app would.
"""

from __future__ import annotations

from dataclasses import dataclass

from commentd.config import Config
from commentd.services.events import Events
from commentd.services.keys import Keys, stored_secret
from commentd.services.moderation import ModerationService
from commentd.services.notifications import Notifier
from commentd.storage.database import connection, open_database
from commentd.storage.migrations import migrate


@dataclass(frozen=True)
class Site:
    """One configured site with its database open."""

    config: Config
    keys: Keys
    events: Events

    def moderation(self) -> ModerationService:
        return ModerationService(self.config, self.events)


def open_site(config: Config) -> Site:
    """Open (and migrate) the database, load the secret, and build the event listeners."""
    db = open_database(config.database.url, config.database.cache_memory)
    with connection():
        migrate(db)
        secret = config.security.secret or stored_secret()
    keys = Keys.from_secret(secret)
    return Site(config, keys, Notifier(config, keys))
