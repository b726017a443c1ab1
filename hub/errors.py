"""Errors the services raise; the web layer maps each to its HTTP status and the contract's error body."""
from __future__ import annotations


class HubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str, field: str | None = None, *, say: str | None = None,
                 say_values: dict[str, object] | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail  # for integrators and logs: English, names the field, stable
        self.field = field
        # For the customer: a plain sentence in English that is also the gettext msgid (hub/locale), shown in the
        # customer's language on the public pages and in the public API's "message".
        self.say = say
        self.say_values = say_values or {}
        self.extra = extra


class Invalid(HubError):
    status = 422
    code = "invalid"


class NotFoundError(HubError):
    status = 404
    code = "not_found"


class ConflictError(HubError):
    status = 409
    code = "conflict"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class TooLarge(HubError):
    status = 413
    code = "too_large"


class RateLimited(HubError):
    status = 429
    code = "rate_limited"


class Unavailable(HubError):
    status = 503
    code = "unavailable"
