-- Items dated by a day only (a dump's DD.MM.YYYY): the day (days since 0001-01-01), so that a
-- new item of that day is given an instant between those of its neighbours in feed order
-- (`store::instant_in_day`). Items stored before keep their instants, and no day.
ALTER TABLE item ADD COLUMN day INTEGER;
CREATE INDEX item_day ON item (day, news_id, id) WHERE day IS NOT NULL;

-- A digest of what the source gave for the item, before govfeeds made it readable: the same
-- input rendered otherwise (a new release restores text better) is not an edit, and keeps its
-- `updated` time. Items stored before have none; their next re-render counts as such too.
ALTER TABLE item ADD COLUMN input_hash TEXT;

-- Items per feed and language, kept by triggers like `feed_count`: a feed's page links the
-- feeds of the languages it has items in, and no others.
CREATE TABLE feed_language_count (
    feed     TEXT    NOT NULL,
    language TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (feed, language)
) WITHOUT ROWID;

INSERT INTO feed_language_count (feed, language, n)
    SELECT feed, language, COUNT(*) FROM item WHERE language IS NOT NULL GROUP BY feed, language;

CREATE TRIGGER item_language_counted AFTER INSERT ON item WHEN NEW.language IS NOT NULL BEGIN
    INSERT INTO feed_language_count (feed, language, n) VALUES (NEW.feed, NEW.language, 1)
        ON CONFLICT (feed, language) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER item_language_moved AFTER UPDATE OF feed, language ON item
    WHEN OLD.feed IS NOT NEW.feed OR OLD.language IS NOT NEW.language BEGIN
    UPDATE feed_language_count SET n = n - 1
        WHERE OLD.language IS NOT NULL AND feed = OLD.feed AND language = OLD.language;
    INSERT INTO feed_language_count (feed, language, n)
        SELECT NEW.feed, NEW.language, 1 WHERE NEW.language IS NOT NULL
        ON CONFLICT (feed, language) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER item_language_uncounted AFTER DELETE ON item WHEN OLD.language IS NOT NULL BEGIN
    UPDATE feed_language_count SET n = n - 1 WHERE feed = OLD.feed AND language = OLD.language;
END;
