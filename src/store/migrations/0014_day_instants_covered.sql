-- The day index carries each item's instant, so that placing a new item among its day's
-- neighbours (`store::instant_in_day`) reads the index alone, not one item row per
-- neighbour; and it covers every item, since a partial index (`WHERE day IS NOT NULL`) made
-- SQLite prepare those queries again each time `day` was bound.
DROP INDEX item_day;
CREATE INDEX item_day ON item (day, news_id, id, published_ts);
