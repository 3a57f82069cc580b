-- Index rows carry the item's feed, entity and language as tokens (search::words::field_token),
-- so that a search with filters skips in FTS5 what the filters reject; and the index's words
-- are listed in `search_term`, so that a query's prefix is named as the few words it begins
-- (FTS5 reads a prefix through the doclists of every word it begins, whatever the LIMIT). The
-- index is emptied here and built again, in key order, by `store::indexing::index_all`.
DROP TABLE item_search;
CREATE VIRTUAL TABLE item_search USING fts5(
    words,
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TABLE search_term (term TEXT PRIMARY KEY) WITHOUT ROWID;
