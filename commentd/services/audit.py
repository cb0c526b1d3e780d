"""The audit log: every moderation action, who took it, from where, and when."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from peewee import Expression

from commentd.storage.models import AuditEntry, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts: ``kind`` is ``admin`` (web page), ``cli``, ``email`` (a mailed link) or
    ``system``; ``name`` says more (the admin's login, the shell user); ``address`` is where
    the request came from, when there was one."""

    kind: str
    name: str | None = None
    address: str | None = None


SYSTEM = Actor("system")


def record(
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry; call it inside the transaction that makes the change."""
    return AuditEntry.create(
        created=utcnow(),
        actor=actor.kind,
        actor_name=actor.name,
        address=actor.address,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
    )


MAX_LIMIT = 1000


def _filters(
    target_type: str | None, since: dt.datetime | None, actor: str | None
) -> list[Expression]:
    found = []
    if target_type is not None:
        found.append(AuditEntry.target_type == target_type)
    if since is not None:
        found.append(AuditEntry.created >= since)
    if actor:
        found.append((AuditEntry.actor == actor) | (AuditEntry.actor_name == actor))
    return found


def entries(
    limit: int = 50,
    offset: int = 0,
    target_type: str | None = None,
    since: dt.datetime | None = None,
    actor: str | None = None,
) -> list[AuditEntry]:
    """The newest entries first; ``since`` keeps those from then on, ``actor`` those whose
    actor kind (``admin``, ``cli``, ``email``, ``system``) or name is ``actor``."""
    query = AuditEntry.select().order_by(AuditEntry.created.desc(), AuditEntry.id.desc())
    for condition in _filters(target_type, since, actor):
        query = query.where(condition)
    limit = max(1, min(int(limit), MAX_LIMIT))
    return list(query.limit(limit).offset(max(0, int(offset))))


def count(since: dt.datetime | None = None, actor: str | None = None) -> int:
    """How many entries :func:`entries` would find with the same filters."""
    query = AuditEntry.select()
    for condition in _filters(None, since, actor):
        query = query.where(condition)
    return query.count()


def detail_of(entry: AuditEntry) -> dict[str, Any]:
    """An entry's detail as a mapping."""
    try:
        value = json.loads(entry.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
