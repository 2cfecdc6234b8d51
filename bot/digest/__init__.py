"""Digests: the platform-neutral model, its composition per channel, and text/JSON rendering.

To add a digest section: a field on :class:`StoryDigest`, a builder in ``compose.py`` and a
block in each renderer (``render_text`` here; Discord and Slack in ``bot/platforms``).
"""
