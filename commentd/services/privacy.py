"""Data requests: everything one person wrote, and erasing or anonymizing it."""

from __future__ import annotations

from typing import Any

from peewee import fn

from commentd.errors import ValidationError
from commentd.services import audit, normal
from commentd.services.audit import Actor
from commentd.services.comments import bump_version, erase
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, Status, Subscriber, Thread, utcnow

MODES = ("erase", "anonymize")


def _of(email: str):
    email = normal.email(email or "")
    if "@" not in email:
        raise ValidationError("Give the person's email address.", code="invalid_email")
    return Comment.select(Comment, Thread).join(Thread).where(fn.LOWER(Comment.email) == email)


def export(email: str) -> dict[str, Any]:
    """Every comment stored with ``email`` (any status but deleted), as plain data."""
    comments = [
        {
            "id": c.id,
            "thread": c.thread.uri,
            "status": c.status.value,
            "author": c.author,
            "email": c.email,
            "website": c.website,
            "text": c.text,
            "created": c.created.isoformat() + "Z",
            "modified": c.modified.isoformat() + "Z" if c.modified else None,
            "network": c.remote_addr,
            "notify": c.notify,
            "notify_thread": c.notify_thread,
            "likes": c.likes,
            "dislikes": c.dislikes,
        }
        for c in _of(email).order_by(Comment.created, Comment.id)
    ]
    subscriber = _subscriber(email).first()
    subscription = subscriber and {
        "asked": subscriber.asked.isoformat() + "Z" if subscriber.asked else None,
        "confirmed": subscriber.confirmed.isoformat() + "Z" if subscriber.confirmed else None,
    }
    return {"email": email.strip(), "comments": comments, "subscription": subscription}


def _subscriber(email: str):
    """The address's notification opt-in (``_of`` has checked it is an address)."""
    return Subscriber.select().where(fn.LOWER(Subscriber.email) == email.strip().lower())


def delete(email: str, mode: str, actor: Actor) -> int:
    """Erase (text and identity) or anonymize (identity only) someone's comments."""
    if mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}.", code="invalid_value")
    changed = 0
    threads: set[int] = set()
    with write_transaction():
        for comment in _of(email):
            if mode == "erase":
                comment.remote_addr = None  # identity too, as anonymize drops it
                erase(comment, utcnow())
            else:
                comment.author = comment.email = comment.website = comment.remote_addr = None
                comment.notify = comment.notify_thread = False
                comment.save()
            if comment.status in (Status.APPROVED, Status.DELETED):
                threads.add(comment.thread_id)
            changed += 1
        for thread_id in threads:
            bump_version(thread_id)
        # and its opt-in: a confirmation link it was sent no longer works
        Subscriber.delete().where(fn.LOWER(Subscriber.email) == email.strip().lower()).execute()
        audit.record(actor, f"privacy-{mode}", "person", None, {"comments": changed})
    return changed
