-- What upstream feeds carry beyond dumps: authors and categories (one per line), an image
-- enclosure, the entry's language, and the feed a source pins its items to.
ALTER TABLE item ADD COLUMN authors TEXT NOT NULL DEFAULT '';
ALTER TABLE item ADD COLUMN categories TEXT NOT NULL DEFAULT '';
ALTER TABLE item ADD COLUMN enclosure_url TEXT;
ALTER TABLE item ADD COLUMN enclosure_type TEXT;
ALTER TABLE item ADD COLUMN enclosure_length INTEGER;
ALTER TABLE item ADD COLUMN language TEXT;
ALTER TABLE item ADD COLUMN pinned_feed TEXT;
