-- Items: one row per identity key. `guid` and `published` are written once and never updated.
CREATE TABLE item (
    id                INTEGER PRIMARY KEY,
    key               TEXT    NOT NULL UNIQUE,
    guid              TEXT    NOT NULL,
    guid_is_permalink INTEGER NOT NULL,
    link              TEXT,
    entity            TEXT,
    news_id           INTEGER,
    feed              TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    content_html      TEXT    NOT NULL,
    summary           TEXT    NOT NULL,
    published         TEXT    NOT NULL,
    published_ts      INTEGER NOT NULL,
    updated           TEXT    NOT NULL,
    content_hash      TEXT    NOT NULL,
    source            TEXT    NOT NULL
);

-- Feed order: newest first, then gov.kz news id descending, then first-seen order.
CREATE INDEX item_order ON item (published_ts DESC, news_id DESC, id);
CREATE INDEX item_feed_order ON item (feed, published_ts DESC, news_id DESC, id);

-- Small named values, such as the fingerprint of the classification the `feed` column holds.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
