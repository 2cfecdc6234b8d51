"""Chat-platform adapters: the only code that knows Discord or Slack.

To add a platform: a renderer (Digest -> the platform's message payloads), an adapter that
turns the platform's commands into ``handlers`` requests with a gateway that posts messages,
and one ``Platform`` entry in ``registry.PLATFORMS`` (secrets, doctor check, redaction, factory).
"""
