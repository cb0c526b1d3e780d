"""Opening a site: its database (migrated), its keys, and the services built on them.

``create_app`` and the CLI both start here, so a command acts exactly as the web app would.
A database that cannot be opened is one ``DatabaseOpenError`` naming the URL, the reason and
what to do; a SQLite file that opens only read-only is served read-only (writes then answer
``503 unavailable``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from peewee import Database, DatabaseError, InterfaceError

from commentd.config import Config
from commentd.errors import DatabaseOpenError
from commentd.services.events import AllEvents, Events
from commentd.services.keys import SECRET_SETTING, Keys, stored_secret
from commentd.services.moderation import ModerationService
from commentd.services.notifications import Notifier
from commentd.storage import indexes
from commentd.storage.database import (
    READ_ONLY_MODES,
    close_database,
    connection,
    database_proxy,
    is_read_only,
    not_writable,
    open_database,
    sqlite_path,
)
from commentd.storage.migrations import current_version, migrate, pending_migrations
from commentd.storage.models import Setting

log = logging.getLogger("commentd.site")
T = TypeVar("T")


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
    secret = with_database(
        config, lambda db: config.security.secret or _secret(db), migrate_it=True
    )
    keys = Keys.from_secret(secret)
    return Site(config, keys, site_events(config, keys))


def site_events(config: Config, keys: Keys) -> Events:
    """The listeners of comment events: notifications (mail, webhooks) and, with
    ``[fediverse] publish_comments``, the account's replies."""
    notifier = Notifier(config, keys)
    if not (config.federates and config.fediverse.publish_comments):
        return notifier
    from commentd.services.fediverse.publish import CommentPublisher

    return AllEvents(notifier, CommentPublisher(config))


def with_database(
    config: Config,
    use: Callable[[Database], T],
    *,
    migrate_it: bool = False,
    read_only_ok: bool = True,
) -> T:
    """Open the configured database, migrate it if asked, and return ``use(db)``, run with a
    connection. A SQLite file that cannot be written is opened read-only instead, where
    ``read_only_ok``; any failure is a ``DatabaseOpenError``."""
    url, cache = config.database.url, config.database.cache_memory
    try:
        return _opened(open_database(url, cache), use, migrate_it)
    except (DatabaseError, InterfaceError, OSError) as error:
        db = _dropped()
        if not read_only_ok or db is None or not not_writable(db, error):
            raise cannot_open(url, error) from error
        first = error
    for mode in READ_ONLY_MODES:
        try:
            result = _opened(open_database(url, cache, read_only=mode), use, migrate_it)
        except DatabaseOpenError:
            _dropped()
            raise
        except (DatabaseError, InterfaceError, OSError):
            _dropped()
            continue
        log.warning(
            "the database %s cannot be written: serving it read-only (%s), writes answer 503",
            url,
            mode,
        )
        return result
    raise cannot_open(url, first) from first


def _opened(db: Database, use: Callable[[Database], T], migrate_it: bool) -> T:
    with connection():
        if migrate_it:
            if not is_read_only(db):
                migrate(db)
                indexes.rebuild_deferred()  # after an import that was stopped
            elif pending := pending_migrations(db):
                raise DatabaseOpenError(
                    f"cannot open the database {_shown(db)}: it is read-only and needs "
                    f"migrating (schema {current_version(db)}, {len(pending)} migration(s) "
                    "pending); run `commentd migrate` where it can be written"
                )
        return use(db)


def _dropped() -> Database | None:
    """Close whatever a failed attempt left open; return the database it tried."""
    db = database_proxy.obj
    if db is not None:
        with contextlib.suppress(DatabaseError, InterfaceError):  # a connection gone bad
            close_database(db)
    return db


def _secret(db: Database) -> str:
    if is_read_only(db):
        row = Setting.get_or_none(Setting.key == SECRET_SETTING)
        if row is None:
            raise DatabaseOpenError(
                f"cannot open the database {_shown(db)}: it is read-only and holds no secret "
                "yet; set [security] secret"
            )
        return row.value
    return stored_secret()


def _shown(db: Database) -> str:
    """The URL of a SQLite database opened read-only, as the messages name it."""
    return f"sqlite:///{db.path}"


def displayed_url(url: str) -> str:
    """``url`` without its password, fit for a message or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def cannot_open(url: str, error: BaseException) -> DatabaseOpenError:
    """The one-line error for a database that would not open: the URL, the reason, a hint."""
    if isinstance(error, DatabaseOpenError):
        return error
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return DatabaseOpenError(
        f"cannot open the database {displayed_url(url)}: {reason}{_hint(url, reason)}"
    )


def _hint(url: str, reason: str) -> str:
    if not url.startswith("sqlite"):
        return "; check that the server runs, and the URL's host, port, user and database name"
    path = sqlite_path(url)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "; that is a folder: name a file in [database] url"
    if not os.path.isdir(folder):
        return f"; the folder {folder} does not exist: create it, or change [database] url"
    if "not a database" in reason:
        return "; that file is not a SQLite database: check [database] url"
    return (
        "; check that commentd may read and write the file and its folder "
        "(SQLite writes -wal and -shm files beside it)"
    )
