CREATE TABLE engine_state (
    name      TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    watermark BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    saved_at  TEXT NOT NULL
);
