"""Is the server able to serve: the database answers a trivial query."""

from __future__ import annotations

from commentd.storage.database import database_proxy


def check_database() -> None:
    """Raise the database's own error unless it answers ``SELECT 1``."""
    database_proxy.execute_sql("SELECT 1").fetchone()
