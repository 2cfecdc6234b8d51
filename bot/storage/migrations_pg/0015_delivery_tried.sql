-- Delivery first tried: the PostgreSQL twin of migrations/0015_delivery_tried.sql.
ALTER TABLE deliveries ADD COLUMN tried_at TEXT;
