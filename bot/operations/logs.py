"""The one log-redaction layer: no secret, URL credential or chat token reaches any handler.

:func:`install_redaction` wraps the process's log record factory (idempotent), so redaction
applies to every logger, the libraries' too (aiosqlite logs SQL parameters at DEBUG, the chat
SDKs log request URLs and payloads), and to every handler, before any of them formats the
record: the message, the traceback and the stack are redacted.

What is masked comes from the modules that know each credential, never from a second filter:
- secret values (the platforms' tokens, registered by ``open_services`` and by each adapter);
- credentials in URLs and secret-looking query parameters (``bot.net.credentials``);
- each chat platform's token shapes (its ``redaction`` in ``bot/platforms/registry.py``);
- ``Authorization`` headers.

The redactor lives on the installed record factory (logging's own process-wide slot), not in
a module-level registry: :func:`active_redactor` finds it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from bot.net.credentials import MASK, mask_in_text
from bot.platforms.registry import redaction_patterns

MIN_SECRET_CHARS = 6  # shorter values would mask ordinary words
_AUTHORIZATION = r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bot|bearer)?\s*)[^\s'\",}]+"


class Redactor:
    """Secret values and credential patterns, masked in text."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._patterns = tuple(re.compile(p) for p in (_AUTHORIZATION, *patterns))

    def add_secrets(self, values: Iterable[str | None]) -> None:
        with self._lock:
            known = set(self._secrets)
            known.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = mask_in_text(text)
        for pattern in self._patterns:
            text = pattern.sub(_masked_match, text)
        return text


def _masked_match(match: re.Match[str]) -> str:
    """The pattern's first group (a prefix worth keeping, e.g. ``/webhooks/1/``) and the mask."""
    kept = match.group(1) if match.re.groups else ""
    return (kept or "") + MASK


class RedactingRecordFactory:
    """A log record factory that redacts each record as it is made."""

    def __init__(self, previous: Any, redactor: Redactor) -> None:
        self.previous = previous
        self.redactor = redactor

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        redact = self.redactor.redact
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record


_INSTALL = threading.Lock()  # guards the check-and-set of logging's record factory


def active_redactor() -> Redactor | None:
    factory = logging.getLogRecordFactory()
    return factory.redactor if isinstance(factory, RedactingRecordFactory) else None


def install_redaction(secret_values: Iterable[str | None] = ()) -> Redactor:
    """Redact ``secret_values`` (and every credential shape above) from every log record."""
    with _INSTALL:
        redactor = active_redactor()
        if redactor is None:
            redactor = Redactor(redaction_patterns())
            logging.setLogRecordFactory(
                RedactingRecordFactory(logging.getLogRecordFactory(), redactor)
            )
    redactor.add_secrets(secret_values)
    return redactor


def redact(text: str) -> str:
    """``text`` as a log line would show it (the installed redactor, else a fresh one)."""
    return (active_redactor() or Redactor(redaction_patterns())).redact(text)
