DROP TABLE IF EXISTS sentences;
CREATE TABLE article_analysis (
    article_id BIGINT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    term_ids   BYTEA NOT NULL,
    term_lens  BYTEA NOT NULL,
    vocab      BYTEA NOT NULL,
    detail     BYTEA NOT NULL
);
