-- When a worker first took a pending delivery's lease to post it (ISO UTC text): set once, by
-- the first claim (bot/storage/deliveries.py). NULL: never tried, so nothing of it can be on
-- the platform yet; set: an earlier attempt may have posted some of it, and a gateway that
-- looks its messages up (Slack's message metadata) looks from then on.
ALTER TABLE deliveries ADD COLUMN tried_at TEXT;
