"""The one error hierarchy. Services raise these; `http.errors` maps them to responses.

Each error carries its HTTP meaning so the mapping lives in one place, and its message is
safe to show a client (never a stack trace or an internal detail).
"""

from __future__ import annotations

from collections.abc import Mapping


class ConnectHubError(Exception):
    status_code = 400
    default_message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.headers = dict(headers or {})
        self.details = dict(details or {})
        super().__init__(self.message)


class BadRequest(ConnectHubError):
    status_code = 400


class Unauthorized(ConnectHubError):
    status_code = 401
    default_message = "The access token is invalid"


class Forbidden(ConnectHubError):
    status_code = 403
    default_message = "This action is outside the authorized scopes"


class NotFound(ConnectHubError):
    status_code = 404
    default_message = "Record not found"


class Conflict(ConnectHubError):
    status_code = 409
    default_message = "Conflict"


class Gone(ConnectHubError):
    status_code = 410
    default_message = "Gone"


class PayloadTooLarge(ConnectHubError):
    status_code = 413
    default_message = "Request body is too large"


class ValidationFailed(ConnectHubError):
    """422, naming the field: `Validation failed: username: is already taken`."""

    status_code = 422

    def __init__(self, field: str, problem: str, **kwargs: object) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Validation failed: {field}: {problem}", **kwargs)  # type: ignore[arg-type]


class TooManyRequests(ConnectHubError):
    status_code = 429
    default_message = "Too many requests"


class ServiceUnavailable(ConnectHubError):
    status_code = 503
    default_message = "Service temporarily unavailable"


class InsufficientStorage(ConnectHubError):
    status_code = 507
    default_message = "Insufficient storage: the server cannot store this file now"


class OAuthError(ConnectHubError):
    """RFC 6749 errors: `{"error": code, "error_description": message}`."""

    def __init__(self, code: str, description: str, *, status_code: int = 400) -> None:
        self.code = code
        self.status_code = status_code
        super().__init__(description)
