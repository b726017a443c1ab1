"""Login: one normal form of the email for the limit and the lookup; one password policy everywhere."""
from __future__ import annotations

from tests.hubtest import hub_config, running_hub


async def test_email_variants_share_one_login_limit(sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, rate_limits={"login_per_minute": 3}, server={"trusted_proxies": ["127.0.0.1"]})
    async with running_hub(cfg) as h:
        await h.add_agent("a@example.com")
        variants = ["a@example.com", " a@example.com", "A@EXAMPLE.COM ", "\ta@Example.com", " a@example.com\t", "A@example.com"]
        codes = []
        for i, email in enumerate(variants):  # each from its own address, so only the per-email limit can stop them
            status, _ = await h.api("POST", "/api/auth/login", {"X-Forwarded-For": f"203.0.113.{i + 1}"},
                                    json={"email": email, "password": "wrong"})
            codes.append(status)
        assert codes == [401, 401, 401, 429, 429, 429]
    async with running_hub(hub_config(sqlite_url)) as h:
        status, body = await h.api("POST", "/api/auth/login", json={"email": "  A@Example.COM ", "password": "secret-pass-1"})
        assert status == 200 and body["agent"]["email"] == "a@example.com"
