"""/api/openapi.yaml describes every route the app serves."""
from __future__ import annotations

import re

import yaml

from hub.web.app import build_app
from hub.web.public import OPENAPI
from tests.hubtest import hub_config


def test_every_route_is_described(sqlite_url: str) -> None:
    config = hub_config(sqlite_url, channels={"webchat": {"enabled": True}, "callback": {"enabled": True}},
                        departments=[{"name": "support", "default": True}, {"name": "callbacks"}])
    app = build_app(config)
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops if method in ("get", "post", "put", "patch", "delete")}
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method in ("HEAD", "OPTIONS") or path is None or path.startswith("/static"):
            continue
        served.add((re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path), route.method))
    missing = served - described
    assert not missing, f"routes missing from openapi.yaml: {sorted(missing)}"
    stale = described - served
    assert not stale, f"openapi.yaml describes routes the app does not serve: {sorted(stale)}"


async def test_openapi_is_served(hub) -> None:
    status, text = await hub.api("GET", "/api/openapi.yaml")
    assert status == 200 and yaml.safe_load(text)["openapi"].startswith("3.")
