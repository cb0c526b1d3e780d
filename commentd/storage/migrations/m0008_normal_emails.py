"""Store emails and bans in their normal form: emails trimmed and lower-cased, phrase bans NFKC.

commentd now normalizes what it compares as it stores it (``commentd.services.normal``), so
``ADA@example.com`` is the reader ``ada@example.com`` was. This brings the rows written before
into the same form; nothing else changes, and no row is dropped (two bans that become the same
ban are one).
"""

from __future__ import annotations

import unicodedata


def _text(value: str) -> str:
    # A frozen copy of commentd.services.normal.text, as migrations never use live code.
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def up(db) -> None:
    """Normalize comment.email, then each email and word ban."""
    mark = db.param
    db.execute_sql(
        "UPDATE comment SET email = LOWER(TRIM(email))"
        " WHERE email IS NOT NULL AND email <> LOWER(TRIM(email))"
    )
    rows = db.execute_sql("SELECT id, kind, value FROM ban ORDER BY id").fetchall()
    seen = {(kind, value) for _, kind, value in rows}
    for ban_id, kind, value in rows:
        if kind not in ("email", "word"):
            continue
        normal = value.strip().lower() if kind == "email" else _text(value)
        if normal == value:
            continue
        seen.discard((kind, value))
        if (kind, normal) in seen:
            db.execute_sql(f"DELETE FROM ban WHERE id = {mark}", (ban_id,))
        else:
            db.execute_sql(f"UPDATE ban SET value = {mark} WHERE id = {mark}", (normal, ban_id))
            seen.add((kind, normal))
