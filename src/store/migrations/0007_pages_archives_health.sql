-- Item pages: `page` is the item's public page name (a hash of its key), filled in by the
-- store for rows that predate it.
ALTER TABLE item ADD COLUMN page TEXT;
CREATE UNIQUE INDEX item_page ON item (page);

-- Language variants of one item (gov.kz `lang=` URLs of the same news id), once a second
-- language is seen: every variant's language and URL. `variant_lang` is the language of the
-- variant the content comes from.
ALTER TABLE item ADD COLUMN variant_lang TEXT;
CREATE TABLE item_variant (
    item INTEGER NOT NULL REFERENCES item (id),
    lang TEXT    NOT NULL,
    url  TEXT    NOT NULL,
    PRIMARY KEY (item, lang)
) WITHOUT ROWID;

-- RFC 5005 archive pages: a feed's items in the order they were first seen, in pages of a
-- fixed size. A full page is rendered once and kept, so it never changes afterwards.
CREATE INDEX item_feed_seen ON item (feed, id);
CREATE TABLE archive_page (
    feed     TEXT    NOT NULL,
    page     INTEGER NOT NULL,
    bytes    BLOB    NOT NULL,
    modified TEXT    NOT NULL,
    PRIMARY KEY (feed, page)
) WITHOUT ROWID;

-- Source health events: a source started failing, or recovered.
CREATE TABLE health_event (
    id      INTEGER PRIMARY KEY,
    source  TEXT NOT NULL,
    at      TEXT NOT NULL,
    failing INTEGER NOT NULL,
    message TEXT NOT NULL
);

-- Per-language feeds: the feed-order indexes also hold each item's language, so the newest
-- items in one language are found by reading the index alone, without an index of their own.
DROP INDEX item_order;
CREATE INDEX item_order ON item (published_ts DESC, news_id DESC, id, language);
DROP INDEX item_feed_order;
CREATE INDEX item_feed_order ON item (feed, published_ts DESC, news_id DESC, id, language);
