-- Stories a channel muted ("Mute story" button, `/news mute`): never in that channel's digests
-- again (bot/digest/compose.py candidate_stories). A story merged into another keeps its row:
-- the story it joined counts as muted (bot/storage/muted.py follows the merge chain).
CREATE TABLE muted_stories (
    channel_key TEXT NOT NULL,                 -- platform:workspace:channel
    story_id    INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    muted_by    TEXT NOT NULL,
    muted_at    TEXT NOT NULL,
    PRIMARY KEY (channel_key, story_id)
) WITHOUT ROWID;
