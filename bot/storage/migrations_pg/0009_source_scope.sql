CREATE TABLE article_sources (
    article_id BIGINT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    source_id  BIGINT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, source_id)
);
CREATE INDEX article_sources_source ON article_sources(source_id);
INSERT INTO article_sources (article_id, source_id)
    SELECT id, source_id FROM articles WHERE source_id IS NOT NULL
    ON CONFLICT DO NOTHING;
INSERT INTO article_sources (article_id, source_id)
    SELECT duplicate_of, source_id FROM articles
    WHERE duplicate_of IS NOT NULL AND source_id IS NOT NULL
    ON CONFLICT DO NOTHING;
ALTER TABLE sources ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
