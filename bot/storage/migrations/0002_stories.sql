-- Stories (online clusters), their public ids (kept after merges) and article sentences.
CREATE TABLE stories (
    id            INTEGER PRIMARY KEY,
    public_id     TEXT NOT NULL UNIQUE,               -- short id users type, e.g. s-4f2a
    title         TEXT NOT NULL,
    terms         TEXT NOT NULL DEFAULT '[]',         -- JSON list of key terms/entities
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    article_count INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    merged_into   INTEGER REFERENCES stories(id),
    centroid      BLOB                                 -- serialized sparse centroid for restart
);
CREATE INDEX stories_last_seen ON stories(last_seen_at);

CREATE TABLE story_aliases (
    public_id TEXT PRIMARY KEY,                        -- an id users may still type after a merge
    story_id  INTEGER NOT NULL REFERENCES stories(id),
    merged_at TEXT NOT NULL
);

ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories(id);
CREATE INDEX articles_story ON articles(story_id);

CREATE TABLE sentences (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    text       TEXT NOT NULL,
    UNIQUE (article_id, position)
);
