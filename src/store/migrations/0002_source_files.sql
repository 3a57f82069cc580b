-- Dump files already ingested: a file whose size and mtime (or, failing those, content hash)
-- are unchanged is not parsed again, so re-reading an old dump never reverts a newer edit.
CREATE TABLE source_file (
    source   TEXT    NOT NULL,
    path     TEXT    NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256   TEXT    NOT NULL,
    PRIMARY KEY (source, path)
);
