-- Each original article's analysis, computed once at ingest and read by digests: term ids per
-- statement and the word vocabulary as plain int arrays (novelty's background), and the
-- statements with their conflict-detection form (bot.analysis.analyzed). Rows of another
-- analysis version are recomputed on use. Replaces the never-used sentences table.
DROP TABLE IF EXISTS sentences;
CREATE TABLE article_analysis (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    term_ids   BLOB NOT NULL,   -- int64 content-term ids of every statement, concatenated
    term_lens  BLOB NOT NULL,   -- int32 number of ids per statement
    vocab      BLOB NOT NULL,   -- int64 sorted ids of the article's word tokens
    detail     BLOB NOT NULL    -- statements, clean flags, prepared statements (allow-listed pickle)
);
