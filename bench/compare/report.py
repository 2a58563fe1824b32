"""The printed table: per route and target the rounds' figures, then each ratio the issue
sets a target for, round by round, with its median against the target."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from .measure import WrkResult

# results[round][route][target]
Results = list[dict[str, dict[str, WrkResult]]]


def _median(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else float("nan")


def _num(value: float, digits: int = 0) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def route_table(results: Results, route: str, targets: list[str]) -> list[str]:
    lines = [
        "| target | requests/s min / median / max | p50 ms (median) | p99 ms (median, max)"
        " | errors (non-2xx + socket) | server CPU ms per request (median) | RSS MiB per round |",
        "|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        runs = [each[route][target] for each in results if target in each.get(route, {})]
        if not runs:
            continue
        rps = sorted(run.rps for run in runs)
        p99s = [run.p99_ms for run in runs]
        errors = sum(run.errors for run in runs)
        lines.append(
            f"| {target} | {_num(rps[0])} / {_num(_median(rps))} / {_num(rps[-1])}"
            f" | {_num(_median([run.p50_ms for run in runs]), 1)}"
            f" | {_num(_median(p99s), 1)}, {_num(max(p99s), 1)}"
            f" | {errors:,} of {sum(run.requests for run in runs):,}"
            f" | {_num(_median([run.cpu_ms_per_request for run in runs]), 2)}"
            f" | {' → '.join(_num(run.rss_mib) for run in runs)} |"
        )
    return lines


@dataclass(frozen=True)
class Ratio:
    label: str
    target: str  # as the issue words it
    goal: Callable[[float], bool]
    per_round: Callable[[dict[str, dict[str, WrkResult]], int], float | None]


def _rps_ratio(route: str, over: str, under: str) -> Callable[..., float | None]:
    def ratio(round_results: dict[str, dict[str, WrkResult]], _index: int) -> float | None:
        runs = round_results.get(route, {})
        if over not in runs or under not in runs or not runs[under].rps:
            return None
        return runs[over].rps / runs[under].rps

    return ratio


def _cpu_ratio(route: str, over: str, under: str) -> Callable[..., float | None]:
    """Requests per CPU-second of `over` / the same of `under` (per core, whatever load)."""

    def ratio(round_results: dict[str, dict[str, WrkResult]], _index: int) -> float | None:
        runs = round_results.get(route, {})
        if over not in runs or under not in runs:
            return None
        mine, theirs = runs[over].cpu_ms_per_request, runs[under].cpu_ms_per_request
        if not mine or not theirs or math.isnan(mine) or math.isnan(theirs):
            return None
        return theirs / mine

    return ratio


def _p99(route: str, target: str) -> Callable[..., float | None]:
    def value(round_results: dict[str, dict[str, WrkResult]], _index: int) -> float | None:
        run = round_results.get(route, {}).get(target)
        return run.p99_ms if run else None

    return value


def _rss_growth(target: str, first: list[float]) -> Callable[..., float | None]:
    """RSS after this round / after round 1 (the target's last run of each round)."""

    def growth(round_results: dict[str, dict[str, WrkResult]], index: int) -> float | None:
        runs = [by_target[target] for by_target in round_results.values() if target in by_target]
        if not runs:
            return None
        if index == 0:
            first[:] = [runs[-1].rss_mib]
        return runs[-1].rss_mib / first[0] if first and first[0] else None

    return growth


def ratios() -> list[Ratio]:
    at_least: Callable[[float], Callable[[float], bool]] = lambda bound: lambda v: v >= bound  # noqa: E731
    return [
        Ratio(
            "home req/s: distributed / gotosocial",
            "≥ 1.0",
            at_least(1.0),
            _rps_ratio("home", "distributed", "gotosocial"),
        ),
        Ratio(
            "home p99 ms: distributed (64 connections)",
            "< 100 ms",
            lambda v: v < 100,
            _p99("home", "distributed"),
        ),
        Ratio(
            "verify_credentials req/s: distributed / bare",
            "≥ 0.40",
            at_least(0.4),
            _rps_ratio("verify_credentials", "distributed", "bare"),
        ),
        Ratio(
            "instance req/s: distributed / bare",
            "≥ 0.50",
            at_least(0.5),
            _rps_ratio("instance", "distributed", "bare"),
        ),
        Ratio(
            "POST statuses req/s: distributed / gotosocial (fan-out included)",
            "≥ 1.0",
            at_least(1.0),
            _rps_ratio("post", "distributed", "gotosocial"),
        ),
        Ratio(
            "home req/s: embedded / distributed",
            "≥ 0.8",
            at_least(0.8),
            _rps_ratio("home", "embedded", "distributed"),
        ),
        Ratio(
            "embedded RSS: after this round / after round 1",
            "≤ 1.10 after round 3",
            lambda v: v <= 1.10,
            _rss_growth("embedded", []),
        ),
        # Per core, whatever else the machine ran: requests per server CPU-second.
        Ratio(
            "home per CPU-second: distributed / gotosocial",
            "(information)",
            lambda v: True,
            _cpu_ratio("home", "distributed", "gotosocial"),
        ),
        Ratio(
            "POST per CPU-second: distributed / gotosocial",
            "(information)",
            lambda v: True,
            _cpu_ratio("post", "distributed", "gotosocial"),
        ),
        Ratio(
            "home per CPU-second: embedded / distributed",
            "(information)",
            lambda v: True,
            _cpu_ratio("home", "embedded", "distributed"),
        ),
    ]


def ratio_table(results: Results) -> list[str]:
    rounds = len(results)
    lines = [
        "| ratio | " + " | ".join(f"round {n + 1}" for n in range(rounds)) + " | median | target |",
        "|---|" + "---|" * rounds + "---|---|",
    ]
    for ratio in ratios():
        values = [ratio.per_round(each, index) for index, each in enumerate(results)]
        known = [v for v in values if v is not None]
        if not known:
            continue
        is_rss = ratio.label.startswith("embedded RSS")
        summary = known[-1] if is_rss else _median(known)  # RSS: the last round is the figure
        digits = 0 if "ms" in ratio.label else 2
        verdict = (
            ""
            if ratio.target.startswith("(")
            else (" met" if ratio.goal(summary) else " **missed**")
        )
        cells = " | ".join("-" if v is None else _num(v, digits) for v in values)
        lines.append(
            f"| {ratio.label} | {cells} | {_num(summary, digits)} | {ratio.target}{verdict} |"
        )
    return lines


def render(results: Results, routes: dict[str, str], targets: list[str]) -> str:
    out: list[str] = []
    for route, label in routes.items():
        if any(route in each for each in results):
            out += [f"### {label}", "", *route_table(results, route, targets), ""]
    if results:
        out += ["### Ratios within each round", "", *ratio_table(results), ""]
    return "\n".join(out)
