"""Embedded SQLite storage (aiosqlite): schema migrations, one-writer transactions, queries."""

from bot.storage.store import SCHEMA_VERSION, Store

__all__ = ["SCHEMA_VERSION", "Store"]
