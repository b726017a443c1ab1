"""The signature a receiver checks: HMAC-SHA256 over "{timestamp}.{body}" with the endpoint's secret.

Headers on every delivery: `X-Hub-Event-Id` (the same on every retry, to de-duplicate), `X-Hub-Event`,
`X-Hub-Timestamp` (Unix seconds of this attempt), `X-Hub-Signature` (`sha256=` and the hex digest).  Signing the
timestamp with the body lets a receiver refuse replays older than a few minutes.
"""
from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: float = 300.0) -> bool:
    """What a receiver does (and what the tests do): a fresh timestamp and a matching signature, compared in
    constant time."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)
