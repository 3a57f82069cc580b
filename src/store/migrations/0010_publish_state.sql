-- What the published documents lag behind, by target: a feed's own documents (`language` ''),
-- the feed in one language, `_site` (index, OPML, health feed) or `*` (every document).
-- A row is written in the same transaction as the change that reaches the target, and removed
-- once the target's documents are all published; so a crash, or a write that failed (a full
-- disk), between the two is redone by the next publish. `newest`, `added` and `moved` sum up
-- the changes (see `store::FeedChange`); `since` is when the target first fell behind.
CREATE TABLE publish_pending (
    feed     TEXT    NOT NULL,
    language TEXT    NOT NULL,
    newest   INTEGER NOT NULL,
    added    INTEGER NOT NULL,
    moved    INTEGER NOT NULL,
    since    TEXT    NOT NULL,
    PRIMARY KEY (feed, language)
) WITHOUT ROWID;

-- Every document as last written to `output_dir`, with the target it was rendered from and
-- what was written, so that a file that went missing or was changed behind our back is
-- noticed and published again.
CREATE TABLE published_doc (
    path     TEXT    PRIMARY KEY,
    feed     TEXT    NOT NULL,
    language TEXT    NOT NULL,
    sha256   TEXT    NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
) WITHOUT ROWID;

-- The first publish under this schema renders everything, and records it.
INSERT INTO publish_pending (feed, language, newest, added, moved, since)
    VALUES ('*', '', 0, 0, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
