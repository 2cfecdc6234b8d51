-- Delivery leases: the PostgreSQL twin of migrations/0013_delivery_leases.sql.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
