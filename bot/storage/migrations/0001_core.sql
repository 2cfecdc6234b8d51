-- Sources, articles (with duplicates pointing at their original) and the FTS5 search index.
CREATE TABLE sources (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL,               -- feed | file | archive | folder
    locator              TEXT NOT NULL,               -- URL or absolute path
    workspace            TEXT NOT NULL DEFAULT '',    -- '' = the operator's own sources
    name                 TEXT,
    interval_s           REAL NOT NULL DEFAULT 900,
    etag                 TEXT,
    last_modified        TEXT,
    last_fetch_at        TEXT,
    last_ok_at           TEXT,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    first_failure_at     TEXT,
    next_fetch_at        TEXT,
    enabled              INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    UNIQUE (workspace, locator)
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    ext_id        TEXT NOT NULL UNIQUE,               -- id as ingested (JSONL id, file stem, feed item key)
    source_id     INTEGER REFERENCES sources(id),
    guid          TEXT,
    url           TEXT,
    canonical_url TEXT,
    outlet        TEXT NOT NULL,
    title         TEXT NOT NULL,
    text          TEXT NOT NULL,
    summary_raw   TEXT,
    published_at  TEXT NOT NULL,                      -- ISO 8601 UTC
    first_seen_at TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    minhash       BLOB,
    duplicate_of  INTEGER REFERENCES articles(id),
    origin        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX articles_canonical_url ON articles(canonical_url) WHERE canonical_url IS NOT NULL;
CREATE INDEX articles_guid ON articles(source_id, guid) WHERE guid IS NOT NULL;
CREATE INDEX articles_content_hash ON articles(content_hash);
CREATE INDEX articles_duplicate_of ON articles(duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX articles_published ON articles(published_at);

CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text, content='articles', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER articles_ai AFTER INSERT ON articles WHEN new.duplicate_of IS NULL BEGIN
    INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles WHEN old.duplicate_of IS NULL BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END;
