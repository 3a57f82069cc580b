-- When the store was created (for an older store: when it was migrated), RFC 3339 in UTC.
-- A feed with no items names it as its `updated` time, instead of the Unix epoch.
INSERT OR IGNORE INTO meta (name, value)
    VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));

-- Forget the last complete publish (`build::PUBLISHED`), so that the next one renders every
-- document again and the feeds published empty pick up the new time.
DELETE FROM meta WHERE name = 'published';
