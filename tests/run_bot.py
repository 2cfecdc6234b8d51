"""``newsbot run`` as a user starts it, with Discord's API and gateway pointed at a local
address when ``NEWSBOT_TEST_DISCORD_URL`` is set (discord.py has no setting for it).

Used by ``tests/test_clean_stop.py`` to run the bot against unreachable local ports. Slack
needs no patch: ``SLACK_API_URL`` points its Web API (and so Socket Mode's
``apps.connections.open``) anywhere.
"""

from __future__ import annotations

import os
import sys


def _patch_discord(base: str) -> None:
    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = base.rstrip("/") + "/api/v10"
    ws = base.replace("http://", "ws://", 1).rstrip("/") + "/gateway"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(ws)


if __name__ == "__main__":
    if url := os.environ.get("NEWSBOT_TEST_DISCORD_URL"):
        _patch_discord(url)
    from bot.cli import main

    sys.argv = ["newsbot", "run"]
    main()
