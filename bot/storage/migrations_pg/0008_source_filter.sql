ALTER TABLE sources ADD COLUMN item_filter TEXT;
