"""The Slack adapter's loggers: what bolt and the SDK clients are handed.

slack_sdk redacts only the ``Authorization`` header; its webhook client logs the full
``response_url`` (a credential for 30 minutes) at DEBUG, and the Socket Mode client logs whole
envelopes (which carry response URLs). Those are masked by the one process-wide redaction of
``bot.operations.logs`` (Slack's token and URL shapes are its entry in
``bot/platforms/registry.py``);
:func:`install_redaction` registers the adapter's secret values there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.operations.logs import install_redaction as install_log_redaction


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


SLACK_LOG = logging.getLogger("newsbot.slack")
SOCKET_LOG = logging.getLogger("newsbot.slack.socket")
SOCKET_LOG.addFilter(OneLine())


def install_redaction(secrets: Iterable[str | None] = ()) -> logging.Logger:
    """Register ``secrets`` with the process's log redaction; the logger to hand to bolt and
    the SDK clients."""
    install_log_redaction(secrets)
    return SLACK_LOG
