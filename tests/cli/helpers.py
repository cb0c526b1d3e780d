"""Assertions and small actions the CLI tests share."""

from __future__ import annotations

import datetime as dt
import re

from commentd.storage.database import connection
from commentd.storage.models import Comment
from tests.conftest import POSTGRES_URL, reset_postgres


def failed(result, message: str, code: int = 1) -> None:
    """The command failed cleanly: the exit code, one ``Error:`` line, no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no crash
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0], errors[0]
    assert "Traceback" not in result.output


def age(comment_id: int, days: int) -> None:
    """Make a comment ``days`` older than it is."""
    with connection():
        created = Comment.get_by_id(comment_id).created
        Comment.update(created=created - dt.timedelta(days=days)).where(
            Comment.id == comment_id
        ).execute()


def table_rows(lines: list[str]) -> list[list[str]]:
    """A table's rows (the lines after its header), split into cells."""
    return [re.split(r"\s{2,}", line) for line in lines[1:] if line.strip()]


def use_fresh_database(tmp_path, monkeypatch) -> str:
    """Point the CLI at a new, empty database (PostgreSQL's emptied, when the tests use it)."""
    if POSTGRES_URL:
        reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("COMMENTD_DATABASE_URL", url)
    return url
