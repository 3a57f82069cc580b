//! Which feed an item belongs to: its entity slug's ministry, a feed of the slug's own, a
//! ministry whose keywords it mentions, or the unattributed feed.

use sha2::{Digest, Sha256};

use crate::config::{Config, FeedName};
use crate::feed_id::COMBINED_ID;
use crate::names::{Names, primary};

/// Maps items to feed ids using the `[[ministry]]` and `[unattributed]` config.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'a> {
    config: &'a Config,
}

impl<'a> Classifier<'a> {
    /// A classifier for `config`.
    pub fn new(config: &'a Config) -> Self {
        Classifier { config }
    }

    /// The feed id for an item with this entity slug, title and body.
    pub fn feed_for(&self, entity: Option<&str>, title: &str, body: &str) -> String {
        if let Some(entity) = entity {
            return self
                .config
                .ministries
                .iter()
                .find(|m| m.entities.is_match(entity))
                .map_or_else(|| self.slug_feed(entity), |m| m.feed.id.clone());
        }
        let text = format!("{title}\n{body}").to_lowercase();
        self.config
            .ministries
            .iter()
            .find(|m| {
                m.keywords
                    .iter()
                    .any(|k| crate::text::contains_word(&text, k))
            })
            .map_or_else(
                || self.config.unattributed.id.clone(),
                |m| m.feed.id.clone(),
            )
    }

    /// An unmatched slug's own feed; a slug that collides with a configured id gets a prefix.
    fn slug_feed(&self, entity: &str) -> String {
        let taken = entity == COMBINED_ID
            || entity == self.config.unattributed.id
            || self.config.ministries.iter().any(|m| m.feed.id == entity);
        if taken {
            format!("entity-{entity}")
        } else {
            entity.to_string()
        }
    }

    /// The id and title of feed `id`, in the site's language.
    pub fn feed_name(&self, id: &str) -> FeedName {
        self.feed_name_in(id, &self.config.site.language)
    }

    /// The id and title of feed `id` in language `lang`: a ministry's configured title, or its
    /// entity's name in `lang` when that is not the site's language; an entity's own feed is
    /// named after the entity ([`crate::names`]).
    pub fn feed_name_in(&self, id: &str, lang: &str) -> FeedName {
        let site = &self.config.site;
        let title = if id == COMBINED_ID {
            site.title.clone()
        } else if id == self.config.unattributed.id {
            self.config.unattributed.title.clone()
        } else if let Some(topic) = self.config.topics.iter().find(|t| t.feed.id == id) {
            topic.feed.title.clone()
        } else if let Some(m) = self.config.ministries.iter().find(|m| m.feed.id == id) {
            let names = self.names();
            let localized = || {
                std::iter::once(id)
                    .chain(m.entity_patterns.iter().map(String::as_str))
                    .filter(|slug| !slug.contains(['*', '?', '[', '{']))
                    .find_map(|slug| names.listed(slug, lang))
            };
            if primary(lang) == primary(&site.language) {
                m.feed.title.clone()
            } else {
                localized().unwrap_or_else(|| m.feed.title.clone())
            }
        } else {
            self.names().of(id.trim_start_matches("entity-"), lang)
        };
        FeedName {
            id: id.to_string(),
            title,
        }
    }

    /// Names of gov.kz entities, with the operator's overrides.
    pub fn names(&self) -> Names<'a> {
        Names::new(&self.config.entity_names)
    }

    /// A digest of everything classification depends on: when it changes, stored items are
    /// classified again.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.config.unattributed.id.as_bytes());
        for m in &self.config.ministries {
            h.update(b"\x00m");
            h.update(m.feed.id.as_bytes());
            for e in &m.entity_patterns {
                h.update(b"\x00e");
                h.update(e.as_bytes());
            }
            for k in &m.keywords {
                h.update(b"\x00k");
                h.update(k.as_bytes());
            }
        }
        crate::text::hex(&h.finalize())
    }
}
