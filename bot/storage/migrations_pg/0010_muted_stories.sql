-- Stories a channel muted: the PostgreSQL twin of migrations/0010_muted_stories.sql.
CREATE TABLE muted_stories (
    channel_key TEXT NOT NULL,
    story_id    BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    muted_by    TEXT NOT NULL,
    muted_at    TEXT NOT NULL,
    PRIMARY KEY (channel_key, story_id)
);
