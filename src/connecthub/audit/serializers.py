"""ConnectHub's AuditLogEntry entity."""

from __future__ import annotations

import json
from typing import Any

from connecthub import entities
from connecthub.core.datetimes import iso
from connecthub.infra.audit_trail import AuditLogRow


def _json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def audit_entry_entity(row: AuditLogRow) -> entities.AuditLogEntry:
    return {
        "id": str(row.id),
        "created_at": iso(row.created_at),
        "event": row.event,
        "actor": row.actor,
        "actor_account_id": None if row.actor_account_id is None else str(row.actor_account_id),
        "action": row.action,
        "outcome": row.outcome,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "ip": row.ip,
        "before": _json(row.before),
        "after": _json(row.after),
        "details": _json(row.details) or {},
        "hash": row.hash,
    }
