"""Field checks shared by every JSON/form edge: the error names the field (422)."""
from __future__ import annotations

from typing import Any

from hub.errors import Invalid


def text_field(data: dict[str, Any], name: str, max_len: int, required: bool = True, strip: bool = False) -> str | None:
    v = data.get(name)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    if not isinstance(v, str):
        raise Invalid(f"{name} must be a string", field=name)
    if len(v) > max_len:
        raise Invalid(f"{name} is longer than {max_len} characters", field=name)
    v = v.replace("\x00", "")
    return v.strip() if strip else v


MAX_ID = 2**31 - 1  # ids are INTEGER columns: anything larger cannot exist and must not reach the database
# Far enough apart for any real booking or report; the calendar arithmetic near year 1 or 9999 would overflow.
MIN_YEAR, MAX_YEAR = 1970, 2999


def id_value(raw: Any, field: str, minimum: int = 1) -> int:
    """An id (or an index, minimum 0) from a path, query or body value; 422 naming the field otherwise."""
    if isinstance(raw, bool):
        raise Invalid(f"{field} must be an integer", field=field)
    try:
        value = int(raw) if isinstance(raw, (int, str)) else None
    except ValueError:
        value = None
    if value is None:
        raise Invalid(f"{field} must be an integer", field=field)
    if not minimum <= value <= MAX_ID:
        raise Invalid(f"{field} is out of range ({minimum}-{MAX_ID})", field=field)
    return value


def year_in_range(year: int, field: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(f"{field} is out of range (years {MIN_YEAR}-{MAX_YEAR})", field=field)


def check_strings(value: Any, field: str | None = None) -> None:
    """Refuses lone surrogates (valid in JSON escapes, not encodable as UTF-8: the database and the password hash
    would fail on them), naming the top-level field they were found under."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                name = field or "body"
                raise Invalid(f"{name} contains characters that are not valid Unicode text", field=field) from None
    elif isinstance(value, dict):
        for k, v in value.items():
            check_strings(k, field or str(k))
            check_strings(v, field or str(k))
    elif isinstance(value, list):
        for v in value:
            check_strings(v, field)
