-- Snapshots of in-memory engines (the story grouper) with the last article they include;
-- at start the snapshot is loaded and later articles are replayed in id order.
CREATE TABLE engine_state (
    name      TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    watermark INTEGER NOT NULL,                        -- highest article id in the snapshot
    data      BLOB NOT NULL,
    saved_at  TEXT NOT NULL
);
