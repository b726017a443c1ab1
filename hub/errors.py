"""Errors the services raise; the web layer maps each to its HTTP status and the contract's error body."""
from __future__ import annotations


class HubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str, field: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
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
