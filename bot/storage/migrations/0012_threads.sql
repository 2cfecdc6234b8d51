-- How a subscription's digests are posted (README "Subscribing", `thread:`): `off` (messages in
-- the channel), `digest` (a short parent message, the digest in its thread) or `story` (one
-- thread per story, collecting its updates over days).
ALTER TABLE subscriptions ADD COLUMN thread TEXT NOT NULL DEFAULT 'off';

-- The thread a story has in a channel (mode `story`): opened the first time the story is told
-- there, its later updates posted in it. thread_id: Slack's parent ts, Discord's thread id.
-- Written as soon as the thread is opened, before anything is posted in it, so a retried
-- digest posts into it instead of opening a second one (bot/storage/threads.py).
CREATE TABLE story_threads (
    channel_key TEXT NOT NULL,                 -- platform:workspace:channel
    story_id    INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    thread_id   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    PRIMARY KEY (channel_key, story_id)
) WITHOUT ROWID;

-- The thread a delivery opened (mode `digest`), likewise recorded before its messages.
CREATE TABLE delivery_threads (
    delivery_id INTEGER NOT NULL PRIMARY KEY REFERENCES deliveries(id) ON DELETE CASCADE,
    thread_id   TEXT NOT NULL
);
