"""The rules alone: targeting by each attribute, rollout buckets, experiment assignment,
the kill switch, and validation naming the field at fault."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connecthub.errors import ValidationFailed
from connecthub.flags.rules import (
    BUCKETS,
    Reason,
    Subject,
    bucket,
    compile_flag,
    evaluate,
)
from connecthub.ids import id_for_time
from tests.flags.support import synthetic_account_ids

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def flag(**fields: Any) -> Any:
    document: dict[str, Any] = {
        "id": 1,
        "key": "new_thing",
        "kind": "boolean",
        "description": "",
        "enabled": True,
        "default_value": False,
        "client_visible": False,
        "rules": [],
        "experiment": None,
        "version": 1,
    }
    document.update(fields)
    return compile_flag(**document)


def account_made(days_ago: float) -> int:
    return id_for_time(int((NOW - timedelta(days=days_ago)).timestamp() * 1000)) | 7


def test_the_bucket_is_a_stable_hash_of_key_and_account() -> None:
    # The documented hash (docs/flags.md) and a fixed value: a release that changed it would
    # move everyone between buckets.
    digest = hashlib.sha256(b"new_thing:115000000000000000").digest()
    assert bucket("new_thing", 115_000_000_000_000_000) == int.from_bytes(digest[:8]) % 10_000
    assert bucket("new_thing", 115_000_000_000_000_000) == 7574
    assert 0 <= bucket("x", 123) < BUCKETS
    keys = {bucket(key, 42) for key in ("a", "b", "c", "d", "e")}
    assert len(keys) > 1  # each flag buckets accounts its own way


def test_a_percentage_rollout_is_close_to_its_share_and_sticky_as_it_grows() -> None:
    accounts = synthetic_account_ids(10_000)
    at_10 = flag(rules=[{"name": "canary", "percentage": 10, "value": True}])
    at_50 = flag(rules=[{"name": "canary", "percentage": 50, "value": True}])
    in_10 = {a for a in accounts if evaluate(at_10, Subject(a), NOW).value}
    in_50 = {a for a in accounts if evaluate(at_50, Subject(a), NOW).value}
    # Binomial(10,000, 0.1): sd 30, so ±150 is five standard deviations.
    assert 850 <= len(in_10) <= 1150
    assert 4750 <= len(in_50) <= 5250
    assert in_10 <= in_50  # nobody who had it loses it as the rollout widens
    assert evaluate(at_10, Subject(next(iter(in_10))), NOW).reason is Reason.SPLIT


def test_targeting_by_each_attribute() -> None:
    old, new = account_made(400), account_made(3)
    rules = [
        {
            "name": "staff",
            "conditions": [{"attribute": "role", "operator": "in", "values": ["admin"]}],
            "value": True,
        },
        {
            "name": "listed",
            "conditions": [{"attribute": "account_id", "operator": "in", "values": [str(new)]}],
            "value": True,
        },
        {
            "name": "indonesian_veterans",
            "conditions": [
                {"attribute": "locale", "operator": "in", "values": ["id"]},
                {"attribute": "account_age_days", "operator": "gte", "value": 365},
            ],
            "value": True,
        },
        {
            "name": "cohort",
            "conditions": [{"attribute": "cohort", "operator": "in", "values": ["2025-10"]}],
            "value": True,
        },
    ]
    f = flag(rules=rules)
    assert evaluate(f, Subject(old, "admin"), NOW).variant == "staff"
    assert evaluate(f, Subject(new, "user"), NOW).variant == "listed"
    assert evaluate(f, Subject(old, "user", "id-id"), NOW).variant == "indonesian_veterans"
    assert evaluate(f, Subject(account_made(5), "user", "id"), NOW).value is False
    assert evaluate(f, Subject(old, "user", "en"), NOW).variant == "cohort"  # 400 days: 2025-10
    anonymous = evaluate(f, Subject(), NOW)
    assert (anonymous.value, anonymous.reason) == (False, Reason.DEFAULT)


def test_the_kill_switch_serves_the_default_to_everyone() -> None:
    f = flag(enabled=False, rules=[{"name": "all", "value": True}])
    resolution = evaluate(f, Subject(1, "admin"), NOW)
    assert (resolution.value, resolution.reason) == (False, Reason.DISABLED)


def test_experiment_assignment_follows_the_weights_and_sticks() -> None:
    f = flag(
        kind="string",
        default_value="old",
        experiment={
            "variants": [
                {"name": "control", "value": "old", "weight": 3},
                {"name": "treatment", "value": "new", "weight": 1},
            ],
            "metric": "posted",
        },
    )
    accounts = synthetic_account_ids(8000, seed=5)
    served = [evaluate(f, Subject(a), NOW) for a in accounts]
    treated = sum(1 for r in served if r.experiment_variant == "treatment")
    assert 1800 <= treated <= 2200  # a quarter of 8,000, sd ~39
    again = [evaluate(f, Subject(a), NOW).variant for a in accounts]
    assert again == [r.variant for r in served]
    assert evaluate(f, Subject(), NOW).reason is Reason.DEFAULT  # no account, no experiment


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "colour"}, "kind"),
        ({"default_value": "yes"}, "default_value"),
        ({"rules": [{"name": "a", "value": 3}]}, "rules[0].value"),
        ({"rules": [{"value": True, "percentage": 120}]}, "rules[0].percentage"),
        (
            {"rules": [{"value": True, "conditions": [{"attribute": "shoe", "operator": "in"}]}]},
            "rules[0].conditions[0].attribute",
        ),
        (
            {"rules": [{"value": True, "conditions": [{"attribute": "role", "operator": "gte"}]}]},
            "rules[0].conditions[0].operator",
        ),
        (
            {
                "rules": [
                    {
                        "value": True,
                        "conditions": [{"attribute": "role", "operator": "in", "values": ["king"]}],
                    }
                ]
            },
            "rules[0].conditions[0].values",
        ),
        ({"experiment": {"variants": [{"name": "a", "value": True}]}}, "experiment.variants"),
        (
            {
                "experiment": {
                    "variants": [{"name": "a", "value": True}, {"name": "b", "value": False}],
                    "metric": "happiness",
                }
            },
            "experiment.metric",
        ),
    ],
)
def test_a_bad_document_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        flag(**fields)
    assert refused.value.field == field
