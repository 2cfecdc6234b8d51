-- Channels' subscriptions, the delivery outbox and per-channel memory of what was delivered.
CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY,
    platform       TEXT NOT NULL,                      -- console | discord | slack
    workspace      TEXT NOT NULL DEFAULT '',           -- guild / team id
    channel        TEXT NOT NULL,
    topic_query    TEXT,                               -- free text / boolean query
    story_id       INTEGER REFERENCES stories(id),     -- or one followed story
    schedule       TEXT NOT NULL DEFAULT 'daily 08:00',
    timezone       TEXT NOT NULL DEFAULT 'UTC',
    quiet_hours    TEXT,
    enabled        INTEGER NOT NULL DEFAULT 1,
    created_by     TEXT,
    created_at     TEXT NOT NULL,
    last_digest_at TEXT,
    CHECK (topic_query IS NOT NULL OR story_id IS NOT NULL)
);
CREATE INDEX subscriptions_channel ON subscriptions(platform, workspace, channel);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER REFERENCES subscriptions(id),
    channel_key     TEXT NOT NULL,                     -- platform:workspace:channel
    idempotency_key TEXT NOT NULL UNIQUE,              -- subscription + period
    status          TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    payload         TEXT NOT NULL,                     -- rendered digest (JSON)
    attempts        INTEGER NOT NULL DEFAULT 0,
    message_id      TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX deliveries_pending ON deliveries(status) WHERE status = 'pending';

CREATE TABLE delivered_items (
    channel_key  TEXT NOT NULL,
    delivery_id  INTEGER REFERENCES deliveries(id),
    story_id     INTEGER NOT NULL,
    article_id   INTEGER,
    sentence_id  INTEGER,
    statement    TEXT,                                 -- statement text as shown
    delivered_at TEXT NOT NULL
);
CREATE INDEX delivered_items_channel ON delivered_items(channel_key, story_id);
