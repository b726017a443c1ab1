"""Secrets never reach the log.

`install(config)` puts one filter on every handler of the root logger (a filter on a logger would miss records
propagated from its children, such as httpx's): each line, its arguments and its traceback are rewritten with the
configured secrets (bot token, webhook secret, mail and database passwords) and anything shaped like a token
masked.  It also quiets the HTTP client libraries, which log every request URL (and the Bot API puts the token in
the URL) at INFO.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

MASK = "[redacted]"
_SECRET_KEY = re.compile(r"(?i)(token|password|passwd|secret|api_key|apikey)$")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot tokens (bot id, colon, 30+ characters), wherever they appear: the Bot API puts them in URLs.
    (re.compile(r"(?<!\d)\d{5,12}:[A-Za-z0-9_-]{30,}"), MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    # Query strings and key=value / key: value pairs naming a secret.
    (re.compile(r"(?i)([?&;](?:[a-z_]*token|password|secret|ticket)=)[^&\s\"'#]+"), r"\1" + MASK),
    (re.compile(r"(?i)(\b(?:password|passwd|secret|api_key|[a-z_]*token)[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])[^\s\"',}&]{4,}"),
     r"\1" + MASK),
    # user:password@host in a URL.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1" + MASK + "@"),
)
_QUIET = ("httpx", "httpcore")


class Redactor:
    """Masks known secrets (longest first, so a secret containing another is masked whole) and token shapes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        found = {s for s in secrets if isinstance(s, str) and len(s) >= 4} | set(self.secrets)
        self.secrets = tuple(sorted(found, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, repl in _PATTERNS:
            text = pattern.sub(repl, text)
        return text


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error reporting
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def secrets_in(node: Any, key: str = "") -> list[str]:
    """Every value under a key naming a secret, and the password of every URL, anywhere in a config mapping."""
    out: list[str] = []
    if isinstance(node, Mapping):
        for k, v in node.items():
            out.extend(secrets_in(v, str(k)))
    elif isinstance(node, (list, tuple)):
        for v in node:
            out.extend(secrets_in(v, key))
    elif isinstance(node, str):
        if _SECRET_KEY.search(key):
            out.append(node)
        elif "://" in node:
            try:
                password = urlsplit(node).password
            except ValueError:
                password = None
            if password:
                out.append(password)
    return out


_REDACTOR = Redactor()


def install(raw_config: Mapping[str, Any] | None = None) -> Redactor:
    """Filter every root handler (once) and remember the secrets of this config; returns the shared redactor."""
    if raw_config is not None:
        _REDACTOR.add(secrets_in(raw_config))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(_REDACTOR))
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return _REDACTOR
