"""``commentd backup``: a consistent copy of the live database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from commentd.config import Config
from commentd.errors import BadRequest, ValidationError
from commentd.storage.backup import backup_sqlite
from commentd.storage.database import sqlite_path

PG_HINT = (
    "This site runs on PostgreSQL: back it up with pg_dump, for example "
    "`pg_dump --format=custom --file=commentd.dump DBNAME`, and restore with pg_restore. "
    "`commentd export` also works on any database."
)


def backup(config: Config, target: Path, progress: Callable[[int, int], None] | None = None) -> int:
    """Copy the site's SQLite database to ``target``; returns the copy's size in bytes."""
    url = config.database.url
    if not url.startswith("sqlite"):
        raise BadRequest(PG_HINT, code="not_sqlite")
    source = sqlite_path(url)
    if source == ":memory:":
        raise BadRequest("An in-memory database cannot be backed up.", code="not_sqlite")
    if not Path(source).is_file():
        raise ValidationError(f"No database file at {source}.", code="invalid_file")
    if target.exists():
        raise ValidationError(f"{target} exists; choose a new file name.", code="file_exists")
    try:
        return backup_sqlite(source, target, progress)
    except sqlite3.Error as exc:
        raise ValidationError(f"Backup failed: {exc}.", code="backup_failed") from None
