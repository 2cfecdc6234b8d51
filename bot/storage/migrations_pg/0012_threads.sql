-- Threaded digests: the PostgreSQL twin of migrations/0012_threads.sql.
ALTER TABLE subscriptions ADD COLUMN thread TEXT NOT NULL DEFAULT 'off';

CREATE TABLE story_threads (
    channel_key TEXT NOT NULL,
    story_id    BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    thread_id   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    PRIMARY KEY (channel_key, story_id)
);

CREATE TABLE delivery_threads (
    delivery_id BIGINT NOT NULL PRIMARY KEY REFERENCES deliveries(id) ON DELETE CASCADE,
    thread_id   TEXT NOT NULL
);
