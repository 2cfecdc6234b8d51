-- Isolation of sources (bot/storage/scope.py): every source an article arrived through, so an
-- article seen by several sources (the same URL added in two workspaces, a copy of it in another
-- feed) is visible to each of their owners; dedup keeps one row, not one owner. An original's
-- rows include the sources of its copies. `sources.shared`: a chat-added feed the operator
-- shares with everyone (`[sources] shared` in the config, synced at start).
CREATE TABLE article_sources (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, source_id)
) WITHOUT ROWID;
CREATE INDEX article_sources_source ON article_sources(source_id);
INSERT OR IGNORE INTO article_sources (article_id, source_id)
    SELECT id, source_id FROM articles WHERE source_id IS NOT NULL;
INSERT OR IGNORE INTO article_sources (article_id, source_id)
    SELECT duplicate_of, source_id FROM articles
    WHERE duplicate_of IS NOT NULL AND source_id IS NOT NULL;
ALTER TABLE sources ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
