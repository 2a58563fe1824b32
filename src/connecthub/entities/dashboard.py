"""Mastodon's admin dashboard entities: Admin::Measure, Admin::Dimension, Admin::Cohort."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class AdminMeasureData(TypedDict):
    date: str
    value: str


class AdminMeasure(TypedDict):
    key: str
    unit: NotRequired[str | None]
    total: str
    human_value: NotRequired[str]
    previous_total: NotRequired[str]
    data: list[AdminMeasureData]


class AdminDimensionData(TypedDict):
    key: str
    human_key: str
    value: str
    unit: NotRequired[str]
    human_value: NotRequired[str]


class AdminDimension(TypedDict):
    key: str
    data: list[AdminDimensionData]


class AdminCohortData(TypedDict):
    date: str
    rate: float
    value: str


class AdminCohort(TypedDict):
    period: str
    frequency: str
    data: list[AdminCohortData]
