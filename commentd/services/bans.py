"""Bans kept in the database: emails (or ``@domain``), client networks and words.

They add to the config's blocklists (``[moderation] blocked_*``) and act the same way, per
``blocklist_action``; unlike the config, they change without a restart and across processes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from peewee import IntegrityError

from commentd.errors import Conflict, NotFound, ValidationError
from commentd.services import audit, normal
from commentd.services.audit import Actor
from commentd.storage.database import write_transaction
from commentd.storage.models import Ban, utcnow

KINDS = ("email", "ip", "word")


@dataclass(frozen=True)
class BanLists:
    """Every ban, grouped by kind."""

    emails: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


def normalize(kind: str, value: str) -> str:
    """The stored form of a ban's value; raises ``ValidationError`` for a bad one."""
    value = (value or "").strip()
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}.", code="invalid_value")
    if not value or len(value) > 256:
        raise ValidationError("Give a value of 1 to 256 characters.", code="invalid_value")
    if kind == "ip":
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValidationError(
                f"{value!r} is not an IP address or CIDR network.", code="invalid_value"
            ) from None
    if kind == "email":
        value = normal.email(value)
        if "@" not in value or any(ch.isspace() for ch in value):
            raise ValidationError(
                f"{value!r} is not an email address or @domain.", code="invalid_value"
            )
        return value
    return normal.text(value)


def add(kind: str, value: str, actor: Actor, reason: str | None = None) -> Ban:
    """Ban ``value``; banning it twice is a conflict."""
    value = normalize(kind, value)
    try:
        with write_transaction():
            ban = Ban.create(kind=kind, value=value, created=utcnow(), reason=reason)
            audit.record(actor, "ban", "ban", ban.id, {"kind": kind, "value": value})
    except IntegrityError:
        raise Conflict(f"{kind} {value} is already banned.", code="already_banned") from None
    return ban


def remove(kind: str, value: str, actor: Actor) -> None:
    """Lift a ban."""
    value = normalize(kind, value)
    with write_transaction():
        ban = Ban.get_or_none((Ban.kind == kind) & (Ban.value == value))
        if ban is None:
            raise NotFound(f"{kind} {value} is not banned.", code="ban_not_found")
        audit.record(actor, "unban", "ban", ban.id, {"kind": kind, "value": value})
        ban.delete_instance()


def all_bans() -> list[Ban]:
    """Every ban, by kind then value."""
    return list(Ban.select().order_by(Ban.kind, Ban.value))


def lists() -> BanLists:
    """The bans as the screening step uses them (one small query)."""
    grouped: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for kind, value in Ban.select(Ban.kind, Ban.value).tuples():
        grouped.setdefault(kind, []).append(value)
    return BanLists(tuple(grouped["email"]), tuple(grouped["ip"]), tuple(grouped["word"]))
