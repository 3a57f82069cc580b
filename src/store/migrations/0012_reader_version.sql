-- Which release's reading of a dump file its items come from (`source::READER_VERSION`): a
-- file read by an older reader is read again, however unchanged, so that better text
-- restoration and names reach the items already stored. Files read before have 0.
ALTER TABLE source_file ADD COLUMN reader INTEGER NOT NULL DEFAULT 0;
