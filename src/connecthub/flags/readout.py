"""An experiment's readout: per-variant counts and goal metric, each variant's difference
from the first (the control) with a confidence interval, and a winner only when every
variant has the minimum sample and an interval excludes zero.

Statistics (ADR 0012): per-account metric values; the difference of two means with a
normal-approximation interval, d ± z·√(v₁/n₁ + v₀/n₀), z the standard normal quantile of
the confidence level. For the `posted` share, v = p(1 - p) (the Wald interval for two
proportions); for `statuses_per_day`, v is the sample variance (Welch's standard error;
with the minimum sample the normal quantile stands in for Student's t). Both metrics are
"more is better". Computed with the standard library (`statistics.NormalDist`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist, fmean, variance

from connecthub.flags.rules import Metric

CONFIDENCE = 0.95


class Verdict(StrEnum):
    INSUFFICIENT_SAMPLE = "insufficient_sample"
    NO_SIGNIFICANT_DIFFERENCE = "no_significant_difference"
    WINNER = "winner"


@dataclass(frozen=True)
class VariantSummary:
    name: str
    exposures: int
    mean: float | None
    variance: float | None


@dataclass(frozen=True)
class Comparison:
    variant: str
    baseline: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None

    @property
    def better(self) -> bool:
        return self.ci_low is not None and self.ci_low > 0

    @property
    def worse(self) -> bool:
        return self.ci_high is not None and self.ci_high < 0


@dataclass(frozen=True)
class Readout:
    metric: Metric
    confidence: float
    min_sample: int
    variants: tuple[VariantSummary, ...]
    comparisons: tuple[Comparison, ...]
    verdict: Verdict
    winner: str | None


def summarize(
    metric: Metric,
    variant_names: Sequence[str],
    values: Mapping[str, Sequence[float]],
    min_sample: int,
    confidence: float = CONFIDENCE,
) -> Readout:
    """`values`: per variant, one metric value per exposed account (1/0 for `posted`)."""
    summaries = tuple(_summary(metric, name, values.get(name, ())) for name in variant_names)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    control = summaries[0]
    comparisons = tuple(_compare(control, other, z) for other in summaries[1:])
    if any(s.exposures < min_sample for s in summaries):
        return Readout(
            metric, confidence, min_sample, summaries, comparisons,
            Verdict.INSUFFICIENT_SAMPLE, None,
        )  # fmt: skip
    better = [c for c in comparisons if c.better]
    if better:
        means = {s.name: s.mean or 0.0 for s in summaries}
        winner: str | None = max(better, key=lambda c: means[c.variant]).variant
    elif comparisons and all(c.worse for c in comparisons):
        winner = control.name
    else:
        winner = None
    verdict = Verdict.WINNER if winner else Verdict.NO_SIGNIFICANT_DIFFERENCE
    return Readout(metric, confidence, min_sample, summaries, comparisons, verdict, winner)


def _summary(metric: Metric, name: str, values: Sequence[float]) -> VariantSummary:
    n = len(values)
    if n == 0:
        return VariantSummary(name, 0, None, None)
    mean = fmean(values)
    if metric is Metric.POSTED:
        spread = mean * (1 - mean)
    else:
        spread = variance(values, mean) if n > 1 else 0.0
    return VariantSummary(name, n, mean, spread)


def _compare(control: VariantSummary, other: VariantSummary, z: float) -> Comparison:
    if (
        control.mean is None
        or other.mean is None
        or control.variance is None
        or other.variance is None
    ):
        return Comparison(other.name, control.name, None, None, None, None)
    difference = other.mean - control.mean
    error = math.sqrt(other.variance / other.exposures + control.variance / control.exposures)
    if error == 0:
        p_value = 1.0 if difference == 0 else 0.0
        return Comparison(other.name, control.name, difference, difference, difference, p_value)
    p_value = 2 * (1 - NormalDist().cdf(abs(difference) / error))
    return Comparison(
        other.name,
        control.name,
        difference,
        difference - z * error,
        difference + z * error,
        p_value,
    )
