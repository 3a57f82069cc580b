//! Reclassifying: when the classification config changed, every stored item that is not
//! pinned goes to the feed the new config gives it, and whatever that changes is published
//! again.

use rusqlite::{OptionalExtension, params};

use super::indexing::{self, Indexed};
use super::{Changes, FeedChange, Store, StoreError, Target, published};
use crate::classify::Classifier;

impl Store {
    /// Re-classifies every item when the classification config changed since the last run.
    /// Returns how many items moved to another feed.
    pub fn reclassify(&mut self, classifier: &Classifier<'_>) -> Result<usize, StoreError> {
        let fingerprint = classifier.fingerprint();
        let current: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'classifier'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if current.as_deref() == Some(fingerprint.as_str()) {
            return Ok(0);
        }
        let path = self.path.clone();
        let err = |source| StoreError::sqlite(&path, source);
        let tx = self.conn.transaction().map_err(err)?;
        let mut moved = 0;
        let mut index = indexing::Pending::default();
        {
            let mut select = tx
                .prepare(
                    "SELECT id, entity, title, content_html, feed, language FROM item
                     WHERE pinned_feed IS NULL",
                )
                .map_err(err)?;
            let mut update = tx
                .prepare("UPDATE item SET feed = ?1 WHERE id = ?2")
                .map_err(err)?;
            let mut rows = select.query([]).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let id: i64 = row.get(0).map_err(err)?;
                let entity: Option<String> = row.get(1).map_err(err)?;
                let title: String = row.get(2).map_err(err)?;
                let body: String = row.get(3).map_err(err)?;
                let feed: String = row.get(4).map_err(err)?;
                let new_feed = classifier.feed_for(entity.as_deref(), &title, &body);
                if new_feed != feed {
                    update.execute(params![new_feed, id]).map_err(err)?;
                    let indexed = Indexed {
                        title,
                        content_html: body,
                        feed: new_feed,
                        entity,
                        language: row.get(5).map_err(err)?,
                    };
                    indexing::reindex(&tx, &mut index, id, indexed).map_err(err)?;
                    if index.is_full() {
                        index.write(&tx).map_err(err)?;
                    }
                    moved += 1;
                }
            }
            // The index rows name the feed.
            index.write(&tx).map_err(err)?;
        }
        if moved > 0 {
            // Items changed feeds, so the feeds' archive pages hold other items now, and every
            // document is to be published again.
            tx.execute("DELETE FROM archive_page", []).map_err(err)?;
            let mut everything = Changes::default();
            everything.touch(Target::Everything, FeedChange::WHOLE);
            published::mark(&tx, &everything).map_err(err)?;
        }
        tx.execute(
            "INSERT INTO meta (name, value) VALUES ('classifier', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [&fingerprint],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(moved)
    }
}
