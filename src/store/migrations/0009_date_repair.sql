-- Dates outside the plausible range (`item::plausible`: before 1991, or in the future) are
-- repaired by `store::repair_dates`, which runs with this migration: such an item is dated
-- when the repair ran, as a new item with such a date is dated when first seen. Its GUID does
-- not change. Every document is then published again (`build::PUBLISHED`).
DELETE FROM meta WHERE name = 'published';
