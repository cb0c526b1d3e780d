"""The audit log: every moderation action, who took it, from where, and when."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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


def entries(limit: int = 50, offset: int = 0, target_type: str | None = None) -> list[AuditEntry]:
    """The newest entries first."""
    query = AuditEntry.select().order_by(AuditEntry.created.desc(), AuditEntry.id.desc())
    if target_type is not None:
        query = query.where(AuditEntry.target_type == target_type)
    return list(query.limit(limit).offset(offset))


def detail_of(entry: AuditEntry) -> dict[str, Any]:
    """An entry's detail as a mapping."""
    try:
        value = json.loads(entry.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
