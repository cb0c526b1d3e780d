"""A consistent copy of a live SQLite database, through SQLite's online backup API.

The copy is taken page by page while the server keeps running; SQLite restarts a step when a
writer changed the source in between, so the result is one consistent snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

PAGES_PER_STEP = 1024


def backup_sqlite(
    source: str, target: Path, progress: Callable[[int, int], None] | None = None
) -> int:
    """Copy the SQLite file ``source`` to ``target`` (which must not exist); returns its size.

    ``progress(remaining, total)`` is called after each step, in pages.
    """
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(
                dst,
                pages=PAGES_PER_STEP,
                progress=(lambda _status, remaining, total: progress(remaining, total))
                if progress
                else None,
            )
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            dst.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    partial.replace(target)  # appears whole or not at all
    return target.stat().st_size
