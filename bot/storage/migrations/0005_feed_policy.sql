-- Feed poll policy (bot/polling.py): body hash, forced full fetches, disable bookkeeping,
-- and the backfill flag that keeps old items (first fetch, republished items) out of digests.
ALTER TABLE sources ADD COLUMN body_hash TEXT;
ALTER TABLE sources ADD COLUMN last_full_fetch_at TEXT;
ALTER TABLE sources ADD COLUMN disabled_at TEXT;
ALTER TABLE sources ADD COLUMN disabled_reason TEXT;
CREATE INDEX sources_due ON sources(enabled, next_fetch_at);
ALTER TABLE articles ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;  -- 1: stored, never digested
