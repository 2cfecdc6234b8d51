"""newsbot: a self-hosted news-monitoring bot for Discord and Slack."""

__version__ = "0.1.0"
