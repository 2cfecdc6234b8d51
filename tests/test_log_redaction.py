"""One log-redaction layer (``bot.operations.logs``): every logger's records are masked by the same
redactor, fed by the platforms' registry entries, the URL-credential shapes of
``bot.net.credentials`` and the secret values the adapters register."""

from __future__ import annotations

import logging

import pytest

from bot.net.credentials import MASK, mask_in_text
from bot.operations.logs import active_redactor, install_redaction, redact
from bot.platforms import discord_adapter, slack_logging
from bot.sources.http import safe_url


def test_the_adapters_register_their_secrets_with_the_one_redactor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redactor = install_redaction()
    discord_adapter.install_redaction("discord-bot-token-abc")
    logger = slack_logging.install_redaction(["xoxb-slack-token-1", "slack-signing-secret"])
    assert active_redactor() is redactor
    with caplog.at_level(logging.DEBUG):
        logger.debug("signed with %s", "slack-signing-secret")
        logging.getLogger("discord.http").debug("auth discord-bot-token-abc")
        logging.getLogger("any.library").info("posting %s", "xoxb-slack-token-1")
    text = caplog.text
    for secret in ("discord-bot-token-abc", "xoxb-slack-token-1", "slack-signing-secret"):
        assert secret not in text
    assert text.count(MASK) == 3


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("GET https://reader:hunter22@feeds.example/rss", "hunter22"),
        ("GET https://feeds.example/rss?api_key=abc123&page=2", "abc123"),
        ("GET https://feeds.example/rss?x=1&access_token=tok987", "tok987"),
        ("headers {'Authorization': 'Bot MTAx.secret'}", "MTAx.secret"),
        ("POST /api/v10/interactions/99/aW50ZXJhY3Rpb24.tok/callback", "aW50ZXJhY3Rpb24.tok"),
        ('payload {"op": 2, "d": {"token": "gateway-token"}}', "gateway-token"),
        ("token xoxp-1-2-3-abcdef", "xoxp-1-2-3-abcdef"),
        ("respond http://127.0.0.1:9/commands/T1/42/deadbeef", "T1/42/deadbeef"),
    ],
)
def test_each_credential_shape_is_masked_and_the_rest_kept(line: str, hidden: str) -> None:
    shown = redact(line)
    assert hidden not in shown and MASK in shown
    assert shown.split()[0] == line.split()[0]  # the line stays readable


def test_the_log_layer_and_the_fetcher_share_the_url_credential_vocabulary() -> None:
    url = "https://user:pw@feeds.example/rss?session_id=s3cr3t&page=2"
    assert "s3cr3t" not in mask_in_text(url) and "pw@" not in mask_in_text(url)
    assert "s3cr3t" not in safe_url(url) and "page=2" in safe_url(url)
    assert "s3cr3t" not in redact(url)


def test_tracebacks_and_stacks_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction(["traceback-secret-42"])
    with caplog.at_level(logging.DEBUG):
        try:
            raise RuntimeError("failed with traceback-secret-42")
        except RuntimeError:
            logging.getLogger("newsbot.test").exception("boom")
        logging.getLogger("newsbot.test").debug("at", stack_info=True)  # traceback-secret-42
    assert "traceback-secret-42" not in caplog.text
    stacks = [r.stack_info for r in caplog.records if r.stack_info]
    assert stacks and all("traceback-secret-42" not in s for s in stacks)
