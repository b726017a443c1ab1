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
