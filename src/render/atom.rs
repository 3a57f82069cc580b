//! Atom 1.0 (RFC 4287).

use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};

use super::{FeedDoc, GENERATOR, RenderError};

/// Renders `doc` as an Atom 1.0 document.
pub fn render(doc: &FeedDoc<'_>) -> Result<Vec<u8>, RenderError> {
    let entries: Vec<Entry> = doc
        .items
        .iter()
        .map(|item| Entry {
            title: Text {
                lang: item
                    .title_language
                    .clone()
                    .or_else(|| item.language.clone()),
                ..Text::plain(item.title.clone())
            },
            id: item.guid.clone(),
            updated: item.updated,
            published: Some(item.published),
            authors: super::creators(item)
                .into_iter()
                .map(|name| Person {
                    name,
                    ..Default::default()
                })
                .collect(),
            categories: std::iter::once(doc.category_of(item))
                .chain(item.categories.iter().cloned())
                .map(|term| Category {
                    term,
                    ..Default::default()
                })
                .collect(),
            links: item
                .link
                .iter()
                .map(|href| Link {
                    href: href.clone(),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                })
                .chain(item.enclosure.iter().map(|e| Link {
                    href: e.url.clone(),
                    rel: "enclosure".into(),
                    mime_type: Some(e.mime_type.clone()),
                    length: Some(e.length.to_string()),
                    ..Default::default()
                }))
                .collect(),
            summary: Some(Text::plain(item.summary.clone())),
            content: Some(Content {
                value: Some(item.content_html.clone()),
                content_type: Some("html".into()),
                lang: item.language.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let feed = Feed {
        title: Text::plain(doc.name.title.clone()),
        id: doc.url("atom"),
        updated: doc.updated(),
        authors: vec![Person {
            name: doc.config.site.title.clone(),
            uri: Some(doc.config.site.base_url.to_string()),
            ..Default::default()
        }],
        links: vec![
            Link {
                href: doc.url("atom"),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: doc.config.site.base_url.to_string(),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        subtitle: Some(Text::plain(doc.description.clone())),
        generator: Some(Generator {
            value: GENERATOR.into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        lang: Some(doc.config.site.language.clone()),
        entries,
        ..Default::default()
    };
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    let mut out = feed
        .write_with_config(Vec::new(), config)
        .map_err(|e| RenderError::Encode {
            feed: doc.name.id.clone(),
            message: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}
