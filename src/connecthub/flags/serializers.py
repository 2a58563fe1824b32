"""The one converter from flags to their API entities (ConnectHub extensions, in Mastodon's
JSON style: ids and versions as they are, times in Mastodon's datetime format)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeAliasType, TypedDict

from connecthub.core.datetimes import iso
from connecthub.flags.models import FeatureFlag
from connecthub.flags.readout import Readout

# A flag's value as JSON: what `GET /api/v1/flags` maps each key to.
FlagValue = TypeAliasType(
    "FlagValue", "bool | str | int | float | list[FlagValue] | dict[str, FlagValue]"
)


class FeatureFlagEntity(TypedDict):
    key: str
    kind: str
    description: str
    enabled: bool
    default_value: Any
    client_visible: bool
    rules: list[dict[str, Any]]
    experiment: dict[str, Any] | None
    version: int
    created_at: str
    updated_at: str


class VariantReadout(TypedDict):
    name: str
    exposures: int
    metric: float | None


class ComparisonReadout(TypedDict):
    variant: str
    baseline: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


class ExperimentReadout(TypedDict):
    key: str
    metric: str
    confidence_level: float
    min_sample: int
    variants: list[VariantReadout]
    comparisons: list[ComparisonReadout]
    verdict: str
    winner: str | None


def flag_entity(flag: FeatureFlag) -> FeatureFlagEntity:
    return {
        "key": flag.key,
        "kind": flag.kind,
        "description": flag.description,
        "enabled": flag.enabled,
        "default_value": flag.default_value,
        "client_visible": flag.client_visible,
        "rules": list(flag.rules),
        "experiment": flag.experiment,
        "version": flag.version,
        "created_at": iso(flag.created_at),
        "updated_at": iso(flag.updated_at),
    }


def readout_entity(key: str, readout: Readout) -> ExperimentReadout:
    return {
        "key": key,
        "metric": readout.metric.value,
        "confidence_level": readout.confidence,
        "min_sample": readout.min_sample,
        "variants": [
            {"name": s.name, "exposures": s.exposures, "metric": s.mean} for s in readout.variants
        ],
        "comparisons": [
            {
                "variant": c.variant,
                "baseline": c.baseline,
                "difference": c.difference,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "p_value": c.p_value,
            }
            for c in readout.comparisons
        ],
        "verdict": readout.verdict.value,
        "winner": readout.winner,
    }
