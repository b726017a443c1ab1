"""Addresses of the real services the tests use, from the environment, and the skip-or-fail rule for them."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

REQUIRE = os.environ.get("HUB_REQUIRE_SERVICES") == "1"


def need(what: str, available: bool) -> None:
    """Skip locally when a service is missing; under CI (HUB_REQUIRE_SERVICES=1) a missing service fails."""
    if available:
        return
    if REQUIRE:
        pytest.fail(f"{what} is required (HUB_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def postgres_url() -> str | None:
    return os.environ.get("HUB_TEST_POSTGRES_URL")


def redis_url() -> str | None:
    return os.environ.get("HUB_TEST_REDIS_URL")


def binary(name: str, *extra_dirs: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in extra_dirs:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
