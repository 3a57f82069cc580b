-- The full-text index of every item (title and text) as stems (src/search/words.rs): one row
-- per item. Its rowid is the item's search key: the publication second, then bits of the
-- identity key's digest, so that FTS5, which yields matches in rowid order, yields them
-- newest first and a page of results stops early. It keeps its own copy of the stems, so an
-- edited item's row is replaced by rowid and any sqlite3 shell with FTS5 can read it.
-- (Built from version 15 on: 0015_search_fields.sql.)
ALTER TABLE item ADD COLUMN search_key INTEGER;
CREATE UNIQUE INDEX item_search_key ON item (search_key);
CREATE VIRTUAL TABLE item_search USING fts5(
    words,
    tokenize = 'unicode61 remove_diacritics 0'
);
