-- The title's language, when it differs from the item's (a Russian title over an English body).
ALTER TABLE item ADD COLUMN title_language TEXT;
