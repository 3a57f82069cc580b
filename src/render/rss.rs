//! RSS 2.0 with `content:encoded`, `dc:creator` and an `atom:link rel="self"`.

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::{FeedDoc, GENERATOR, RenderError};

/// Renders `doc` as an RSS 2.0 document.
pub fn render(doc: &FeedDoc<'_>) -> Result<Vec<u8>, RenderError> {
    let items: Vec<Item> = doc
        .items
        .iter()
        .map(|item| Item {
            title: Some(item.title.clone()),
            link: Some(doc.link_of(item)),
            description: Some(item.summary.clone()),
            content: Some(item.content_html.clone()),
            guid: Some(Guid {
                value: item.guid.clone(),
                permalink: item.guid_is_permalink,
            }),
            pub_date: Some(item.published.to_rfc2822()),
            categories: std::iter::once(doc.category_of(item))
                .chain(item.categories.iter().cloned())
                .map(|name| Category { name, domain: None })
                .collect(),
            enclosure: item.enclosure.as_ref().map(|e| Enclosure {
                url: e.url.clone(),
                length: e.length.to_string(),
                mime_type: e.mime_type.clone(),
            }),
            dublin_core_ext: Some(DublinCoreExtension {
                creators: doc.creators(item),
                languages: item.language.iter().cloned().collect(),
                ..Default::default()
            })
            .filter(|dc| !dc.creators.is_empty() || !dc.languages.is_empty()),
            ..Default::default()
        })
        .collect();
    let channel = Channel {
        title: doc.name.title.clone(),
        link: doc.current_url("html"),
        description: doc.description.clone(),
        language: Some(doc.config.site.language.clone()),
        last_build_date: Some(doc.updated().to_rfc2822()),
        generator: Some(format!("{GENERATOR} {}", env!("CARGO_PKG_VERSION"))),
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: doc.url("rss"),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            }],
        }),
        items,
        image: Some(rss::Image {
            url: doc.config.url_for(super::ICON_PATH),
            title: doc.name.title.clone(),
            link: doc.current_url("html"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut out =
        channel
            .pretty_write_to(Vec::new(), b' ', 2)
            .map_err(|e| RenderError::Encode {
                feed: doc.name.id.clone(),
                message: e.to_string(),
            })?;
    out.push(b'\n');
    Ok(out)
}
