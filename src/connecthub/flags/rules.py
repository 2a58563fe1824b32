"""THE flag rules: a flag's document validated and compiled once (`compile_flag`), then
evaluated for a subject with no I/O at all (`evaluate`).

A flag answers, in order: its default value when it is disabled (the kill switch); the
value of the first rule whose conditions all hold and, when the rule has a percentage,
whose rollout bucket holds the account; the variant of its experiment (signed-in accounts
only); its default value.

Buckets are a stable hash of (flag key, account id): SHA-256, the first eight bytes taken
as a number, modulo 10,000 (a basis point each). An account's bucket never changes, so as a
rollout's percentage grows the accounts already in stay in (ADR 0012). Experiments hash
with their own salt, so who is in a rollout says nothing of who gets which variant.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from connecthub.errors import ValidationFailed
from connecthub.ids import id_to_ms, parse_id

BUCKETS = 10_000
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_RULES = 50
MAX_CONDITION_VALUES = 1000
MAX_VARIANTS = 10
DEFAULT_MIN_SAMPLE = 100


class FlagKind(StrEnum):
    BOOLEAN = "boolean"
    STRING = "string"
    NUMBER = "number"
    JSON = "json"


class Metric(StrEnum):
    """An experiment's goal, measured from exposure on (flags/readout.py)."""

    POSTED = "posted"  # share of exposed accounts that posted at least once since
    STATUSES_PER_DAY = "statuses_per_day"  # statuses per day since exposure, per account


class Reason(StrEnum):
    """OpenFeature's resolution reasons, as the provider reports them."""

    DISABLED = "DISABLED"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    DEFAULT = "DEFAULT"


# attribute -> the operators it takes
_OPERATORS: dict[str, tuple[str, ...]] = {
    "account_id": ("in", "not_in"),
    "role": ("in", "not_in"),
    "locale": ("in", "not_in"),
    "cohort": ("in", "not_in", "gte", "lte"),
    "account_age_days": ("gte", "lt"),
}
ATTRIBUTES = tuple(_OPERATORS)
_ROLES = ("user", "moderator", "admin")
_COHORT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a flag is evaluated for: what the request says, nothing read from storage."""

    account_id: int | None = None
    role: str | None = None
    locale: str | None = None

    @property
    def created_at(self) -> datetime | None:
        # Account ids are time-ordered: the high bits are the sign-up's millisecond.
        if self.account_id is None:
            return None
        return datetime.fromtimestamp(id_to_ms(self.account_id) / 1000, tz=UTC)

    def attribute(self, name: str, now: datetime) -> object:
        if name == "account_id":
            return self.account_id
        if name == "role":
            return self.role
        if name == "locale":
            return self.locale
        created = self.created_at
        if created is None:
            return None
        if name == "cohort":
            return f"{created.year:04d}-{created.month:02d}"
        return (now - created).total_seconds() / 86_400  # account_age_days


@dataclass(frozen=True, slots=True)
class Condition:
    attribute: str
    operator: str
    values: frozenset[Any]
    bound: Any

    def holds(self, subject: Subject, now: datetime) -> bool:
        actual = subject.attribute(self.attribute, now)
        if actual is None:
            return self.operator == "not_in"
        if self.operator in ("in", "not_in"):
            if self.attribute == "locale":
                language = str(actual).split("-", 1)[0]
                found = actual in self.values or language in self.values
            else:
                found = actual in self.values
            return found if self.operator == "in" else not found
        if self.operator == "gte":
            return bool(actual >= self.bound)
        if self.operator == "lte":
            return bool(actual <= self.bound)
        return bool(actual < self.bound)  # lt


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    value: Any
    basis_points: int | None  # a percentage rollout, in hundredths of a percent

    def matches(self, key: str, subject: Subject, now: datetime) -> bool:
        if not all(condition.holds(subject, now) for condition in self.conditions):
            return False
        if self.basis_points is None:
            return True
        if subject.account_id is None:
            return False
        return bucket(key, subject.account_id) < self.basis_points


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    value: Any
    weight: int


@dataclass(frozen=True, slots=True)
class Experiment:
    variants: tuple[Variant, ...]
    metric: Metric
    min_sample: int
    # cumulative weights scaled to BUCKETS: variant i takes buckets below bounds[i]
    bounds: tuple[int, ...]

    def assign(self, key: str, account_id: int) -> Variant:
        position = bucket(key, account_id, salt="experiment")
        for variant, bound in zip(self.variants, self.bounds, strict=True):
            if position < bound:
                return variant
        return self.variants[-1]


@dataclass(frozen=True, slots=True)
class CompiledFlag:
    id: int
    key: str
    kind: FlagKind
    description: str
    enabled: bool
    default_value: Any
    client_visible: bool
    rules: tuple[Rule, ...]
    experiment: Experiment | None
    version: int


@dataclass(frozen=True, slots=True)
class Resolution:
    value: Any
    reason: Reason
    variant: str
    # An experiment's assignment (to be recorded as an exposure), else None.
    experiment_variant: str | None = None


def bucket(key: str, account_id: int, salt: str = "") -> int:
    """The account's bucket for this flag, 0 to 9,999; stable across processes, releases
    and Python versions (no `hash()`: it is salted per process)."""
    material = f"{key}:{salt}:{account_id}" if salt else f"{key}:{account_id}"
    digest = hashlib.sha256(material.encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def evaluate(flag: CompiledFlag, subject: Subject, now: datetime) -> Resolution:
    if not flag.enabled:
        return Resolution(flag.default_value, Reason.DISABLED, "disabled")
    for rule in flag.rules:
        if rule.matches(flag.key, subject, now):
            reason = Reason.TARGETING_MATCH if rule.basis_points is None else Reason.SPLIT
            return Resolution(rule.value, reason, rule.name)
    if flag.experiment is not None and subject.account_id is not None:
        variant = flag.experiment.assign(flag.key, subject.account_id)
        return Resolution(variant.value, Reason.SPLIT, variant.name, variant.name)
    return Resolution(flag.default_value, Reason.DEFAULT, "default")


# --- validation: a flag's document, field by field -----------------------------------------


def check_key(key: object) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValidationFailed(
            "key", "must be 1-64 characters: lower-case letters, digits, '_', '.', '-'"
        )
    return key


def check_kind(kind: object) -> FlagKind:
    try:
        return FlagKind(str(kind))
    except ValueError:
        raise ValidationFailed(
            "kind", f"must be one of {', '.join(k.value for k in FlagKind)}"
        ) from None


def check_value(kind: FlagKind, value: object, field: str) -> Any:
    """`value` as a flag of `kind` serves it, or 422 naming `field`."""
    if kind is FlagKind.BOOLEAN:
        ok = isinstance(value, bool)
    elif kind is FlagKind.STRING:
        ok = isinstance(value, str) and len(value) <= 1000
    elif kind is FlagKind.NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, dict | list)
    if not ok:
        raise ValidationFailed(field, f"must be a {kind.value} value")
    return value


def _name(raw: object, field: str) -> str:
    if not isinstance(raw, str) or not NAME_PATTERN.match(raw):
        raise ValidationFailed(field, "must be 1-64 characters: letters, digits, '_', '.', '-'")
    return raw


def _condition(raw: object, field: str) -> Condition:
    if not isinstance(raw, Mapping):
        raise ValidationFailed(field, "must be an object with attribute, operator and values")
    attribute = raw.get("attribute")
    if attribute not in _OPERATORS:
        raise ValidationFailed(f"{field}.attribute", f"must be one of {', '.join(ATTRIBUTES)}")
    operator = raw.get("operator")
    if operator not in _OPERATORS[attribute]:
        raise ValidationFailed(
            f"{field}.operator", f"must be one of {', '.join(_OPERATORS[attribute])}"
        )
    if operator in ("in", "not_in"):
        values = raw.get("values")
        if not isinstance(values, list) or not 0 < len(values) <= MAX_CONDITION_VALUES:
            raise ValidationFailed(
                f"{field}.values", f"must be a list of 1 to {MAX_CONDITION_VALUES} values"
            )
        return Condition(attribute, operator, _members(attribute, values, field), None)
    return Condition(attribute, operator, frozenset(), _bound(attribute, raw.get("value"), field))


def _members(attribute: str, values: list[object], field: str) -> frozenset[Any]:
    problem = {
        "account_id": "must be account ids",
        "role": f"must be roles ({', '.join(_ROLES)})",
        "locale": "must be language tags such as en or pt-BR",
        "cohort": "must be sign-up months as YYYY-MM",
    }[attribute]
    members: set[Any] = set()
    for value in values:
        if attribute == "account_id":
            number = parse_id(value)
            if number is None:
                raise ValidationFailed(f"{field}.values", problem)
            members.add(number)
        elif (
            not isinstance(value, str)
            or (attribute == "role" and value not in _ROLES)
            or (attribute == "cohort" and not _COHORT.match(value))
        ):
            raise ValidationFailed(f"{field}.values", problem)
        elif attribute == "locale":
            locale = normalise_locale(value)
            if locale is None:
                raise ValidationFailed(f"{field}.values", problem)
            members.add(locale)
        else:
            members.add(value)
    return frozenset(members)


def _bound(attribute: str, value: object, field: str) -> Any:
    if attribute == "cohort":
        if not isinstance(value, str) or not _COHORT.match(value):
            raise ValidationFailed(f"{field}.value", "must be a sign-up month as YYYY-MM")
        return value
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise ValidationFailed(f"{field}.value", "must be a number of days, 0 or more")
    return float(value)


def normalise_locale(raw: str) -> str | None:
    """`pt_BR`, `PT-br` -> `pt-br`; None for what is not a language tag."""
    tag = raw.strip().replace("_", "-").lower()
    if not re.match(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$", tag):
        return None
    return tag


def _percentage(raw: object, field: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 100:
        raise ValidationFailed(field, "must be a number from 0 to 100")
    return round(raw * 100)


def check_rules(kind: FlagKind, raw: object) -> list[dict[str, Any]]:
    """The rules as stored (validated; compiled again on load)."""
    _compile_rules(kind, raw)
    return list(raw) if isinstance(raw, list) else []


def _compile_rules(kind: FlagKind, raw: object) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        raise ValidationFailed("rules", f"must be a list of at most {MAX_RULES} rules")
    rules = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        field = f"rules[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed(field, "must be an object")
        name = _name(item.get("name", f"rule-{index + 1}"), f"{field}.name")
        if name in names or name in ("default", "disabled"):
            raise ValidationFailed(f"{field}.name", "must be unique (and not default, disabled)")
        names.add(name)
        conditions = item.get("conditions", [])
        if not isinstance(conditions, list):
            raise ValidationFailed(f"{field}.conditions", "must be a list")
        if "value" not in item:
            raise ValidationFailed(f"{field}.value", "is required")
        rules.append(
            Rule(
                name=name,
                conditions=tuple(
                    _condition(c, f"{field}.conditions[{i}]") for i, c in enumerate(conditions)
                ),
                value=check_value(kind, item["value"], f"{field}.value"),
                basis_points=_percentage(item.get("percentage"), f"{field}.percentage"),
            )
        )
    return tuple(rules)


def check_experiment(kind: FlagKind, raw: object) -> dict[str, Any] | None:
    _compile_experiment(kind, raw)
    return dict(raw) if isinstance(raw, Mapping) else None


def _compile_experiment(kind: FlagKind, raw: object) -> Experiment | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValidationFailed("experiment", "must be an object with variants and metric")
    variants_raw = raw.get("variants")
    if not isinstance(variants_raw, list) or not 2 <= len(variants_raw) <= MAX_VARIANTS:
        raise ValidationFailed("experiment.variants", f"must list 2 to {MAX_VARIANTS} variants")
    variants = []
    for index, item in enumerate(variants_raw):
        field = f"experiment.variants[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed(field, "must be an object with name, value and weight")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight <= 10_000:
            raise ValidationFailed(f"{field}.weight", "must be a whole number from 1 to 10000")
        if "value" not in item:
            raise ValidationFailed(f"{field}.value", "is required")
        variants.append(
            Variant(
                name=_name(item.get("name"), f"{field}.name"),
                value=check_value(kind, item["value"], f"{field}.value"),
                weight=weight,
            )
        )
    if len({v.name for v in variants}) != len(variants):
        raise ValidationFailed("experiment.variants", "must have unique names")
    try:
        metric = Metric(str(raw.get("metric")))
    except ValueError:
        raise ValidationFailed(
            "experiment.metric", f"must be one of {', '.join(m.value for m in Metric)}"
        ) from None
    min_sample = raw.get("min_sample", DEFAULT_MIN_SAMPLE)
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or min_sample < 2:
        raise ValidationFailed("experiment.min_sample", "must be a whole number, 2 or more")
    total = sum(v.weight for v in variants)
    bounds, running = [], 0
    for variant in variants:
        running += variant.weight
        bounds.append(running * BUCKETS // total)
    return Experiment(tuple(variants), metric, min_sample, tuple(bounds))


def compile_flag(
    *,
    id: int,
    key: str,
    kind: str,
    description: str,
    enabled: bool,
    default_value: Any,
    client_visible: bool,
    rules: object,
    experiment: object,
    version: int,
) -> CompiledFlag:
    flag_kind = check_kind(kind)
    return CompiledFlag(
        id=id,
        key=key,
        kind=flag_kind,
        description=description,
        enabled=enabled,
        default_value=check_value(flag_kind, default_value, "default_value"),
        client_visible=client_visible,
        rules=_compile_rules(flag_kind, rules),
        experiment=_compile_experiment(flag_kind, experiment),
        version=version,
    )
