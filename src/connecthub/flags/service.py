"""The flags' rules of change: who may read and edit flags, what a valid flag is, and what
follows a change (an audit line; an announcement on the event bus once committed, so every
process reloads; this process's own reload before the answer). The admin API and the
`connecthub flags` commands both come here."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.clock import utcnow
from connecthub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from connecthub.flags import repository
from connecthub.flags.models import FeatureFlag
from connecthub.flags.readout import Readout, summarize
from connecthub.flags.rules import (
    FlagKind,
    Metric,
    check_experiment,
    check_key,
    check_kind,
    check_rules,
    check_value,
)
from connecthub.flags.runtime import Features
from connecthub.flags.store import CHANGES_CHANNEL, FlagStore, compiled_row
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit

# Who may do what: editing flags is an admin's act (it changes the product for everyone);
# moderators may read them (and experiment readouts).
EDITORS = frozenset({"admin"})
READERS = frozenset({"admin", "moderator"})
EDITABLE = ("description", "enabled", "default_value", "client_visible", "rules", "experiment")


@dataclass(frozen=True)
class Actor:
    """Who acts: `account:<id>` with the account's role, or the command line."""

    name: str
    role: str | None

    @classmethod
    def account(cls, account_id: int, role: str | None) -> Actor:
        return cls(audit.account_actor(account_id), role)

    @classmethod
    def cli(cls) -> Actor:
        return cls(audit.CLI_ACTOR, "admin")


def check_reader(actor: Actor, action: str) -> None:
    if actor.role not in READERS:
        _refuse(actor, action, None, "Only moderators and admins may read feature flags")


def check_editor(actor: Actor, action: str, key: str | None) -> None:
    if actor.role not in EDITORS:
        _refuse(actor, action, key, "Only admins may change feature flags")


def _refuse(actor: Actor, action: str, key: str | None, message: str) -> None:
    audit.record(
        "flags.refused",
        actor=actor.name,
        action=action,
        outcome=audit.Outcome.REFUSED,
        target_flag=key,
        reason=message,
    )
    raise Forbidden(message)


def _record(actor: Actor, action: str, flag: FeatureFlag, **details: object) -> None:
    if actor.name == audit.CLI_ACTOR:  # names the operating-system user too
        audit.record_cli(action, target_flag=flag.key, version=flag.version, **details)
        return
    audit.record(
        "flags.changed",
        actor=actor.name,
        action=action,
        outcome=audit.Outcome.DONE,
        target_flag=flag.key,
        version=flag.version,
        **details,
    )


def _announce(uow: UnitOfWork, store: FlagStore | None, flag: FeatureFlag) -> None:
    """Once committed: every process hears of it; this one reloads before answering."""
    uow.publish(CHANGES_CHANNEL, {"key": flag.key, "version": flag.version})
    if store is not None:
        uow.after_commit(store.reload)


# --- reads ------------------------------------------------------------------------------


async def list_flags(session: AsyncSession, actor: Actor) -> Sequence[FeatureFlag]:
    check_reader(actor, "flag.list")
    return await repository.all_flags(session)


async def get_flag(session: AsyncSession, actor: Actor, key: str) -> FeatureFlag:
    check_reader(actor, "flag.show")
    return await _existing(session, key)


async def _existing(session: AsyncSession, key: str, *, for_update: bool = False) -> FeatureFlag:
    flag = await repository.by_key(session, key, for_update=for_update)
    if flag is None:
        raise NotFound(f"No feature flag {key!r}")
    return flag


# --- changes ----------------------------------------------------------------------------


def _validate(flag: FeatureFlag) -> None:
    """The whole flag as it would be stored: the one check, the same compile as a load."""
    compiled_row(flag)


def _apply(flag: FeatureFlag, kind: FlagKind, fields: Mapping[str, Any]) -> list[str]:
    changed = []
    for name in EDITABLE:
        if name not in fields:
            continue
        value = fields[name]
        if name == "description":
            if not isinstance(value, str) or len(value) > 1000:
                raise ValidationFailed("description", "must be text of at most 1000 characters")
        elif name in ("enabled", "client_visible"):
            if not isinstance(value, bool):
                raise ValidationFailed(name, "must be true or false")
        elif name == "default_value":
            value = check_value(kind, value, "default_value")
        elif name == "rules":
            value = check_rules(kind, value)
        else:
            value = check_experiment(kind, value)
        if getattr(flag, name) != value:
            setattr(flag, name, value)
            changed.append(name)
    return changed


async def create_flag(
    uow: UnitOfWork, store: FlagStore | None, actor: Actor, document: Mapping[str, Any]
) -> FeatureFlag:
    check_editor(actor, "flag.create", None)
    key = check_key(document.get("key"))
    kind = check_kind(document.get("kind"))
    if "default_value" not in document:
        raise ValidationFailed("default_value", "is required")
    unknown = set(document) - {"key", "kind", *EDITABLE}
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "is not a flag field")
    if await repository.by_key(uow.session, key) is not None:
        raise Conflict(f"A feature flag {key!r} exists already")
    now = utcnow()
    flag = FeatureFlag(
        key=key,
        kind=kind.value,
        description="",
        enabled=True,
        client_visible=False,
        rules=[],
        experiment=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _apply(flag, kind, document)
    _validate(flag)
    uow.session.add(flag)
    await uow.session.flush()
    _record(actor, "flag.create", flag, kind=kind.value)
    _announce(uow, store, flag)
    return flag


async def update_flag(
    uow: UnitOfWork,
    store: FlagStore | None,
    actor: Actor,
    key: str,
    fields: Mapping[str, Any],
    *,
    action: str = "flag.update",
) -> FeatureFlag:
    check_editor(actor, action, key)
    if "kind" in fields or "key" in fields:
        name = "kind" if "kind" in fields else "key"
        raise ValidationFailed(name, "cannot change: create a new flag")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "is not a flag field")
    flag = await _existing(uow.session, key, for_update=True)
    changed = _apply(flag, FlagKind(flag.kind), fields)
    if not changed:
        return flag
    _validate(flag)
    flag.version += 1
    flag.updated_at = utcnow()
    await uow.session.flush()
    _record(actor, action, flag, changed=changed, enabled=flag.enabled)
    _announce(uow, store, flag)
    return flag


async def set_enabled(
    uow: UnitOfWork, store: FlagStore | None, actor: Actor, key: str, enabled: bool
) -> FeatureFlag:
    """The kill switch (`enabled` false: everyone gets the default value) and its undoing."""
    action = "flag.enable" if enabled else "flag.kill"
    return await update_flag(uow, store, actor, key, {"enabled": enabled}, action=action)


async def set_rollout(
    uow: UnitOfWork,
    store: FlagStore | None,
    actor: Actor,
    key: str,
    percentage: object,
    rule_name: str | None = None,
) -> FeatureFlag:
    """Widen, hold or roll back a percentage rollout: the named rule's percentage (or the
    flag's one percentage rule). A boolean flag without one gets a rule serving `true` to
    that share of accounts."""
    if (
        isinstance(percentage, bool)
        or not isinstance(percentage, int | float)
        or not math.isfinite(percentage)
        or not 0 <= percentage <= 100
    ):
        raise ValidationFailed("percentage", "must be a number from 0 to 100")
    check_editor(actor, "flag.rollout", key)
    flag = await _existing(uow.session, key)
    rules = [dict(rule) for rule in flag.rules]
    if rule_name is not None:
        chosen = [r for r in rules if r.get("name") == rule_name]
        if not chosen:
            raise ValidationFailed("rule", f"names no rule of {key!r}")
    else:
        chosen = [r for r in rules if r.get("percentage") is not None]
        if len(chosen) > 1:
            raise ValidationFailed("rule", "is required: the flag has several rollout rules")
        if not chosen:
            if flag.kind != FlagKind.BOOLEAN:
                raise ValidationFailed("rule", "is required for a non-boolean flag")
            rules.append({"name": "rollout", "conditions": [], "value": True})
            chosen = [rules[-1]]
    chosen[0]["percentage"] = percentage
    return await update_flag(uow, store, actor, key, {"rules": rules}, action="flag.rollout")


async def delete_flag(uow: UnitOfWork, store: FlagStore | None, actor: Actor, key: str) -> None:
    check_editor(actor, "flag.delete", key)
    flag = await _existing(uow.session, key, for_update=True)
    await repository.delete_flag(uow.session, flag.id)
    flag.version += 1
    _record(actor, "flag.delete", flag)
    _announce(uow, store, flag)


# --- experiments --------------------------------------------------------------------------


async def readout(session: AsyncSession, actor: Actor, key: str) -> Readout:
    check_reader(actor, "flag.readout")
    flag = await _existing(session, key)
    if flag.experiment is None:
        raise ValidationFailed("key", f"{key!r} has no experiment")
    compiled = compiled_row(flag)
    experiment = compiled.experiment
    assert experiment is not None
    now = utcnow()
    values: defaultdict[str, list[float]] = defaultdict(list)
    for variant, exposed_at, posted in await repository.exposure_outcomes(session, flag.id):
        if experiment.metric is Metric.POSTED:
            values[variant].append(1.0 if posted else 0.0)
        else:
            days = max((now - _aware(exposed_at)).total_seconds() / 86_400, 1.0)
            values[variant].append(posted / days)
    names = [variant.name for variant in experiment.variants]
    return summarize(experiment.metric, names, values, experiment.min_sample)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def visible_values(store: FlagStore, features: Features) -> dict[str, Any]:
    """The web app's flags (`client_visible`), evaluated for the caller through OpenFeature:
    values only, never rules."""
    return {key: features.value(flag) for key, flag in store.flags.items() if flag.client_visible}
