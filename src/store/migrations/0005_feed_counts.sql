-- Item counts per feed, kept by triggers, so that counting costs the same at any store size.
CREATE TABLE feed_count (
    feed TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO feed_count (feed, n) SELECT feed, COUNT(*) FROM item GROUP BY feed;

CREATE TRIGGER item_counted AFTER INSERT ON item BEGIN
    INSERT INTO feed_count (feed, n) VALUES (NEW.feed, 1)
        ON CONFLICT (feed) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER item_moved AFTER UPDATE OF feed ON item WHEN OLD.feed <> NEW.feed BEGIN
    UPDATE feed_count SET n = n - 1 WHERE feed = OLD.feed;
    INSERT INTO feed_count (feed, n) VALUES (NEW.feed, 1)
        ON CONFLICT (feed) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER item_uncounted AFTER DELETE ON item BEGIN
    UPDATE feed_count SET n = n - 1 WHERE feed = OLD.feed;
END;

-- The `updated` time of each feed as last published, so the index page can name it without
-- reading the feed's items again.
CREATE TABLE feed_published (
    feed    TEXT PRIMARY KEY,
    updated TEXT NOT NULL
) WITHOUT ROWID;
