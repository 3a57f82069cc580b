//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

use serde_json::{Value, json};

use super::{FeedDoc, RenderError};

/// Renders `doc` as a JSON Feed 1.1 document.
pub fn render(doc: &FeedDoc<'_>) -> Result<Vec<u8>, RenderError> {
    let site = &doc.config.site;
    let items: Vec<Value> = doc
        .items
        .iter()
        .map(|item| {
            let mut entry = json!({
                "id": item.guid,
                "title": item.title,
                "content_html": item.content_html,
                "summary": item.summary,
                "date_published": item.published.to_rfc3339(),
                "date_modified": item.updated.to_rfc3339(),
                "url": doc.link_of(item),
                "tags": std::iter::once(doc.category_of(item))
                    .chain(item.categories.iter().cloned())
                    .collect::<Vec<_>>(),
            });
            let authors = doc.creators(item);
            if !authors.is_empty() {
                entry["authors"] = authors.iter().map(|name| json!({ "name": name })).collect();
            }
            if let Some(language) = &item.language {
                entry["language"] = json!(language);
            }
            if let Some(e) = &item.enclosure {
                entry["attachments"] = json!([{
                    "url": e.url,
                    "mime_type": e.mime_type,
                    "size_in_bytes": e.length,
                }]);
            }
            entry
        })
        .collect();
    let feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": doc.name.title,
        "home_page_url": doc.current_url("html"),
        "feed_url": doc.url("json"),
        "description": doc.description,
        "language": site.language,
        "authors": [{ "name": site.title, "url": site.base_url.as_str() }],
        "icon": doc.config.url_for(super::ICON_PATH),
        "favicon": doc.config.url_for(super::ICONS[0].0),
        "items": items,
    });
    let mut out = serde_json::to_vec_pretty(&feed).map_err(|e| RenderError::Encode {
        feed: doc.name.id.clone(),
        message: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}
