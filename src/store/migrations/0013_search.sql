-- The full-text index of every item (title and text) as stems (src/search/words.rs): one row
-- per item, rowid = item.id. It keeps its own copy of the stems, so an edited item's row is
-- replaced by rowid and any sqlite3 shell with FTS5 can read it.
CREATE VIRTUAL TABLE IF NOT EXISTS item_search USING fts5(
    words,
    tokenize = 'unicode61 remove_diacritics 0'
);
-- Filled from scratch (src/store/search.rs, index_all) right after.
DELETE FROM item_search;
