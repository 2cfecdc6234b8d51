-- Whether an article's publication time came from its source (1) or is its first-seen time (0),
-- so time-based rules (same news cycle, weekday of an event) do not trust an estimate.
ALTER TABLE articles ADD COLUMN dated INTEGER NOT NULL DEFAULT 1;
