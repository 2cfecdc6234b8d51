-- A feed's optional item filter: a topic/boolean query (bot.query) an item must match to be
-- ingested from that source (NULL: every item). Checked by the poller before storing.
ALTER TABLE sources ADD COLUMN item_filter TEXT;
