-- Items dated by a day only (a dump's DD.MM.YYYY): the day (days since 0001-01-01), so that a
-- new item of that day is given an instant between those of its neighbours in feed order
-- (`store::instant_in_day`). Items stored before keep their instants, and no day.
ALTER TABLE item ADD COLUMN day INTEGER;
CREATE INDEX item_day ON item (day, news_id, id) WHERE day IS NOT NULL;

-- A digest of what the source gave for the item, before govfeeds made it readable: the same
-- input rendered otherwise (a new release restores text better) is not an edit, and keeps its
-- `updated` time. Items stored before have none; their next re-render counts as such too.
ALTER TABLE item ADD COLUMN input_hash TEXT;
