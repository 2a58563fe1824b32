"""ConnectHub's OpenFeature provider: flags resolved from the process's compiled rule set
(store.py), no I/O. The application evaluates flags only through an OpenFeature client
bound to this provider (runtime.py); an experiment's assignment is handed to the exposure
recorder, which writes it later, in batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.provider import AbstractProvider, Metadata

from connecthub.clock import utcnow
from connecthub.flags.exposures import ExposureRecorder
from connecthub.flags.rules import FlagKind, Subject, evaluate
from connecthub.flags.store import FlagStore
from connecthub.ids import parse_id

PROVIDER_NAME = "connecthub"


def subject_of(context: EvaluationContext | None) -> Subject:
    """The subject an evaluation context describes: the targeting key is the account id;
    `role` and `locale` are attributes."""
    if context is None:
        return Subject()
    attributes = context.attributes
    role, locale = attributes.get("role"), attributes.get("locale")
    return Subject(
        account_id=parse_id(context.targeting_key) if context.targeting_key else None,
        role=role if isinstance(role, str) else None,
        locale=locale if isinstance(locale, str) else None,
    )


class ConnectHubProvider(AbstractProvider):
    def __init__(self, store: FlagStore, exposures: ExposureRecorder) -> None:
        super().__init__()
        self._store = store
        self._exposures = exposures

    def get_metadata(self) -> Metadata:
        return Metadata(name=PROVIDER_NAME)

    def _resolve(
        self,
        kind: FlagKind,
        flag_key: str,
        default_value: Any,
        context: EvaluationContext | None,
    ) -> FlagResolutionDetails[Any]:
        flag = self._store.get(flag_key)
        if flag is None:
            return FlagResolutionDetails(
                value=default_value,
                reason="ERROR",
                error_code=ErrorCode.FLAG_NOT_FOUND,
                error_message=f"No flag {flag_key!r}",
            )
        if flag.kind is not kind:
            return FlagResolutionDetails(
                value=default_value,
                reason="ERROR",
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"{flag_key!r} is a {flag.kind.value} flag",
            )
        subject = subject_of(context)
        resolution = evaluate(flag, subject, utcnow())
        if resolution.experiment_variant is not None and subject.account_id is not None:
            self._exposures.note(flag.id, subject.account_id, resolution.experiment_variant)
        return FlagResolutionDetails(
            value=resolution.value,
            reason=resolution.reason.value,
            variant=resolution.variant,
            flag_metadata={"version": flag.version},
        )

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(FlagKind.BOOLEAN, flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(FlagKind.STRING, flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        details = self._resolve(FlagKind.NUMBER, flag_key, default_value, evaluation_context)
        if isinstance(details.value, float) and details.value.is_integer():
            details.value = int(details.value)
        return details

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        details = self._resolve(FlagKind.NUMBER, flag_key, default_value, evaluation_context)
        if isinstance(details.value, int) and not isinstance(details.value, bool):
            details.value = float(details.value)
        return details

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._resolve(FlagKind.JSON, flag_key, default_value, evaluation_context)
