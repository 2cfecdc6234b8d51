"""Keep Slack credentials out of logs: a redacting filter on every logger the SDKs write to.

slack_sdk redacts only the ``Authorization`` header; its webhook client logs the full
``response_url`` (a credential for 30 minutes) at DEBUG, and the Socket Mode client logs whole
envelopes (which carry response URLs). The adapter hands :data:`SLACK_LOG` to bolt and the SDK
clients, and the same filter is installed on the SDK's module loggers as a second line.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "[redacted]"
_PATTERNS = (
    # Slack tokens: bot/user/app/config/refresh tokens.
    re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"),
    # Slash-command response URLs: https://hooks.slack.com/commands/T…/…/… (any host).
    re.compile(r"(?:https?://[^\s'\"/]+)?/commands/[^\s'\",)}\]]+"),
    # Incoming-webhook style URLs.
    re.compile(r"(?:https?://[^\s'\"/]+)?/services/T[^\s'\",)}\]]+"),
)
SDK_LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "slack_sdk.web.async_base_client",
    "slack_sdk.web.async_client",
    "slack_sdk.webhook.async_client",
    "slack_sdk.socket_mode.aiohttp",
    "slack_sdk.socket_mode.async_client",
)


class SecretRedactor(logging.Filter):
    """Replaces known secret values and token/response-URL shapes in log records."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str | None]) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw template only
            message = str(record.msg)
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.stack_info:
            message += "\n" + record.stack_info
            record.stack_info = None
        record.exc_text = None
        record.msg = self.redact(message)
        record.args = None
        return True


class OneLine(logging.Filter):
    """The Socket Mode client retries a failed connection by itself and logs each failure with
    a traceback; this keeps one line (exception type and message) unless logging is DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not logging.getLogger("newsbot").isEnabledFor(logging.DEBUG):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


REDACTOR = SecretRedactor()
SLACK_LOG = logging.getLogger("newsbot.slack")
SOCKET_LOG = logging.getLogger("newsbot.slack.socket")
SOCKET_LOG.addFilter(OneLine())


def install_redaction(secrets: Iterable[str | None] = ()) -> logging.Logger:
    """Register ``secrets`` and make sure the filter is on the adapter's and the SDK's loggers.

    Returns the logger to hand to bolt and the SDK clients.
    """
    REDACTOR.add(secrets)
    for name in ("newsbot.slack", "newsbot.slack.socket", *SDK_LOGGERS):
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)
    return SLACK_LOG
