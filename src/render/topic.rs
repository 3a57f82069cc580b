//! Topic feeds (`[[topic]]`): the newest `max_items` items matching a query, in every format a
//! ministry's feed has (without archives: a query's matches are not a fixed history), and one
//! Atom feed per configured language.

use chrono::{DateTime, FixedOffset};

use super::{ATOM_TYPE, Document, Edition, FeedDoc, FeedInfo, RenderError, atom, formats};
use crate::classify::Classifier;
use crate::config::{Config, FeedName, Topic};
use crate::store::{Store, StoreError};

/// The documents of `topic` and what the index says of it.
pub fn topic_documents(
    store: &Store,
    config: &Config,
    topic: &Topic,
    created: DateTime<FixedOffset>,
) -> Result<(Vec<Document>, FeedInfo), RenderError> {
    let doc = doc(store, config, topic, None, created)?;
    let documents = formats(&doc, &topic.feed.id)?;
    let info = FeedInfo {
        items: doc.items.len() as u64,
        updated: doc.updated(),
        name: doc.name,
    };
    Ok((documents, info))
}

/// What the index says of `topic`, without rendering it.
pub fn topic_info(
    store: &Store,
    config: &Config,
    topic: &Topic,
    created: DateTime<FixedOffset>,
) -> Result<FeedInfo, StoreError> {
    let items = store
        .search(&topic.query, config.site.timezone, 0, config.max_items)?
        .items;
    Ok(FeedInfo {
        name: topic.feed.clone(),
        items: items.len() as u64,
        updated: super::newest(items.iter().map(|i| i.updated), created),
    })
}

/// The Atom feed of `topic`'s items in `lang`.
pub fn topic_language_document(
    store: &Store,
    config: &Config,
    topic: &Topic,
    lang: &str,
    created: DateTime<FixedOffset>,
) -> Result<Document, RenderError> {
    let doc = doc(store, config, topic, Some(lang), created)?;
    Ok(Document {
        path: super::language_path(&topic.feed.id, lang),
        content_type: ATOM_TYPE,
        bytes: atom::render(&doc)?,
        modified: doc.updated(),
    })
}

fn doc<'a>(
    store: &Store,
    config: &'a Config,
    topic: &Topic,
    lang: Option<&str>,
    created: DateTime<FixedOffset>,
) -> Result<FeedDoc<'a>, RenderError> {
    let mut query = topic.query.clone();
    let items = match lang {
        // The query's own language filter, if any, still applies.
        Some(lang) if !query.languages.is_empty() && !query.languages.iter().any(|l| l == lang) => {
            Vec::new()
        }
        _ => {
            if let Some(lang) = lang {
                query.languages = vec![lang.to_string()];
            }
            store
                .search(&query, config.site.timezone, 0, config.max_items)?
                .items
        }
    };
    let title = match lang {
        Some(lang) => format!("{} ({lang})", topic.feed.title),
        None => topic.feed.title.clone(),
    };
    Ok(FeedDoc {
        name: FeedName {
            id: topic.feed.id.clone(),
            title,
        },
        description: format!("{}: the news that match {}", config.site.title, topic.text),
        items,
        config,
        classifier: Classifier::new(config),
        edition: match lang {
            Some(lang) => Edition::Language(lang.to_string()),
            None => Edition::Current { archives: 0 },
        },
        created,
        languages: match lang {
            Some(_) => Vec::new(),
            None => config.languages.clone(),
        },
    })
}
