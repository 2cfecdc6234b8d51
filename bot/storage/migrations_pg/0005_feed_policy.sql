ALTER TABLE sources ADD COLUMN body_hash TEXT;
ALTER TABLE sources ADD COLUMN last_full_fetch_at TEXT;
ALTER TABLE sources ADD COLUMN disabled_at TEXT;
ALTER TABLE sources ADD COLUMN disabled_reason TEXT;
CREATE INDEX sources_due ON sources(enabled, next_fetch_at);
ALTER TABLE articles ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;
