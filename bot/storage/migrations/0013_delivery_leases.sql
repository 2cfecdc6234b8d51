-- A pending delivery being sent is leased by one worker (bot/delivery/outbox.py): lease_owner
-- names the holder (Services.worker), lease_until (ISO UTC text) is when another worker may
-- take it over. Both NULL: free. A sent or failed delivery holds no lease.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
