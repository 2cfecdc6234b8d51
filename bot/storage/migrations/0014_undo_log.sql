-- Chat changes that may still be undone (the "Undo" button under a subscription change,
-- handlers/undo.py): kept in the database so a button works after a restart and from any
-- worker. A row is taken (deleted) when its change is undone; expired rows are purged when a
-- new change is recorded (bot/storage/undo.py).
CREATE TABLE undo_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an old button never undoes a new change
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    user_id     TEXT NOT NULL,               -- who made the change
    kind        TEXT NOT NULL,               -- added | updated | removed
    after_json  TEXT,                        -- the subscription as it stands (NULL: removed)
    before_json TEXT,                        -- what undo restores (NULL: added)
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX undo_log_expires ON undo_log (expires_at);
