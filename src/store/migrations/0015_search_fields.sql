-- Index rows carry the item's feed, entity and language as tokens (search::words::field_token),
-- so that a search with filters skips in FTS5 what the filters reject: the index is emptied
-- here and built again, in key order, by `store::search::index_all`.
DROP TABLE item_search;
CREATE VIRTUAL TABLE item_search USING fts5(
    words,
    tokenize = 'unicode61 remove_diacritics 0'
);
