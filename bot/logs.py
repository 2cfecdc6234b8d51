"""Process-wide log redaction: no secret, URL credential or chat token reaches any handler.

Installed once (idempotent) by :func:`install_redaction`; it wraps the log record factory, so it
applies to every logger, the libraries' too (aiosqlite logs SQL parameters at DEBUG, SDKs log
request URLs), and to every handler, before any of them formats the record.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "***"
_PATTERNS = [
    # credentials in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{MASK}@"),
    # secret-looking query parameters: ?token=..., &api_key=...
    (
        re.compile(
            r"(?i)([?&;](?:[a-z_]*token|[a-z_]*key|secret|password|passwd|pwd|auth|sig|"
            r"signature|session|sid)=)[^&\s'\"<>]+"
        ),
        rf"\1{MASK}",
    ),
    # Slack tokens and response URLs
    (re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"(hooks\.slack\.com/(?:commands|services|actions)/)[^\s\"'<>]+"), rf"\1{MASK}"),
    # Discord webhook / interaction tokens in REST paths
    (re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9._-]{20,}"), rf"\1{MASK}"),
    # Authorization headers
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bot|bearer)?\s*)[^\s'\",}]+"),
        rf"\1{MASK}",
    ),
]
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def install_redaction(secret_values: Iterable[str] = ()) -> None:
    """Redact ``secret_values`` (and credential-shaped text) from every log record from now on."""
    global _installed
    with _lock:
        _secrets.update(v for v in secret_values if v and len(v) >= 6)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: leave it to the handler to report
                return record
            record.msg, record.args = redact(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
