//! Publishing the `[[topic]]` feeds: their queries run again whenever items changed, since
//! any change may change what a query matches; the files are written only when their bytes
//! change.

use std::collections::HashSet;

use super::{FeedInfo, Publish, Target};
use crate::render;
use crate::store::StoreError;

impl Publish<'_> {
    /// Publishes every topic feed when `changed` (items changed: any change may change what a
    /// query matches; the files are written only when their bytes change); else says what
    /// the index showed of them.
    pub(super) fn topics(
        &mut self,
        expected: &mut HashSet<String>,
        infos: &mut Vec<FeedInfo>,
        changed: bool,
    ) -> Result<(), StoreError> {
        let config = self.config;
        for topic in &config.topics {
            let id = &topic.feed.id;
            if !changed {
                expected.extend(
                    config
                        .languages
                        .iter()
                        .map(|l| render::language_path(id, l)),
                );
                expected.extend(render::feed_paths(id));
                infos.push(render::topic_info(self.store, config, topic, self.created)?);
                continue;
            }
            for lang in &config.languages {
                expected.insert(render::language_path(id, lang));
                let doc =
                    render::topic_language_document(self.store, config, topic, lang, self.created);
                self.target(
                    Target::Language(id.clone(), lang.clone()),
                    doc.map(|d| vec![d]),
                );
            }
            expected.extend(render::feed_paths(id));
            let (documents, info) =
                match render::topic_documents(self.store, config, topic, self.created) {
                    Ok((documents, info)) => (Ok(documents), info),
                    Err(e) => (
                        Err(e),
                        FeedInfo {
                            name: topic.feed.clone(),
                            items: 0,
                            updated: self.created,
                        },
                    ),
                };
            if documents.is_ok() {
                self.record.feed_updated.push((id.clone(), info.updated));
            }
            self.target(Target::Feed(id.clone()), documents);
            infos.push(info);
        }
        Ok(())
    }
}
