-- Several workers on one database: a due feed is polled by the worker that claimed it.
-- claim_owner names the worker (bot.services.worker_identity), claim_until ends its lease
-- (ISO 8601 UTC text, as every time here); a claim whose lease ended may be taken by another.
ALTER TABLE sources ADD COLUMN claim_owner TEXT;
ALTER TABLE sources ADD COLUMN claim_until TEXT;
