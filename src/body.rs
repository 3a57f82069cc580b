//! The body of a dump entry: the `Source : URL` tail split off, a repeated title removed, its
//! paragraphs and lists restored ([`crate::restore`]); rendered as HTML and plain text.

pub use crate::restore::Block;
use crate::text::{collapse_whitespace, truncate_words};

/// Labels that introduce the source URL at the end of a body.
const SOURCE_LABELS: &[&str] = &["Source", "SOURCE", "source", "Источник", "Дереккөз"];

/// Most characters kept in the plain-text summary.
const SUMMARY_CHARS: usize = 400;

/// A body split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Paragraphs and lists, in order.
    pub blocks: Vec<Block>,
    /// The raw text after `Source :`, if the body ended with one.
    pub source: Option<String>,
}

impl Body {
    /// Parses a body line; `title` is removed when the body starts by repeating it.
    pub fn parse(raw: &str, title: &str) -> Body {
        let raw = collapse_whitespace(raw);
        let (text, source) = split_source(&raw);
        let text = strip_title(text, title);
        Body {
            blocks: crate::restore::blocks(text),
            source,
        }
    }

    /// The body as HTML: `<p>` paragraphs and `<ul>` lists, all text escaped.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        for block in &self.blocks {
            match block {
                Block::Paragraph(p) => {
                    html.push_str("<p>");
                    html.push_str(&html_escape::encode_text(p));
                    html.push_str("</p>");
                }
                Block::List(items) | Block::Numbered(items) => {
                    let tag = if matches!(block, Block::List(_)) {
                        "ul"
                    } else {
                        "ol"
                    };
                    html.push_str(&format!("<{tag}>"));
                    for item in items {
                        html.push_str("<li>");
                        html.push_str(&html_escape::encode_text(item));
                        html.push_str("</li>");
                    }
                    html.push_str(&format!("</{tag}>"));
                }
            }
        }
        html
    }

    /// A plain-text summary: the start of the body, cut at a word.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for block in &self.blocks {
            let parts: Vec<&str> = match block {
                Block::Paragraph(p) => vec![p],
                Block::List(items) | Block::Numbered(items) => {
                    items.iter().map(String::as_str).collect()
                }
            };
            for part in parts {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(part);
                if text.chars().count() > SUMMARY_CHARS {
                    return truncate_words(&text, SUMMARY_CHARS);
                }
            }
        }
        text
    }
}

/// How far from the end of a body a `Source :` label is looked for (URLs are shorter).
const SOURCE_TAIL: usize = 4096;

/// Splits `Source : URL` (any spacing, possibly glued to the last sentence) off the end.
fn split_source(body: &str) -> (&str, Option<String>) {
    let mut tail_start = body.len().saturating_sub(SOURCE_TAIL);
    while !body.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let tail = &body[tail_start..];
    let found = SOURCE_LABELS
        .iter()
        .filter_map(|label| {
            let at = tail_start + tail.rfind(label)?;
            let rest = body[at + label.len()..].trim_start().strip_prefix(':')?;
            let value = rest.trim();
            (!value.contains(char::is_whitespace)).then_some((at, value))
        })
        .max_by_key(|(at, _)| *at);
    match found {
        Some((at, value)) => (
            body[..at].trim_end(),
            (!value.is_empty()).then(|| value.to_string()),
        ),
        None => (body, None),
    }
}

/// Removes a copy of `title` glued to the start of the body.
fn strip_title<'a>(body: &'a str, title: &str) -> &'a str {
    if title.is_empty() {
        return body;
    }
    match body.get(..title.len()) {
        Some(head) if head.eq_ignore_ascii_case(title) => {
            let rest = body[title.len()..].trim_start();
            if rest.is_empty() { body } else { rest }
        }
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraphs(body: &str) -> Vec<String> {
        Body::parse(body, "")
            .blocks
            .into_iter()
            .map(|b| match b {
                Block::Paragraph(p) => p,
                Block::List(items) | Block::Numbered(items) => format!("LIST{items:?}"),
            })
            .collect()
    }

    #[test]
    fn source_at_the_end_with_any_spacing() {
        for body in [
            "Text.Source : https://www.gov.kz/x?lang=kk",
            "Text. Source : https://www.gov.kz/x?lang=kk",
            "Text.   Source : https://www.gov.kz/x?lang=kk  ",
            "Text.Source: https://www.gov.kz/x?lang=kk",
            "Text.Source :https://www.gov.kz/x?lang=kk",
        ] {
            let b = Body::parse(body, "");
            assert_eq!(
                b.source.as_deref(),
                Some("https://www.gov.kz/x?lang=kk"),
                "{body}"
            );
            assert_eq!(b.blocks, vec![Block::Paragraph("Text.".into())], "{body}");
        }
        let b = Body::parse("No source here. The Source of funds is the budget.", "");
        assert_eq!(b.source, None);
        assert_eq!(b.blocks.len(), 1);
    }

    #[test]
    fn repeated_title_is_removed() {
        let b = Body::parse(
            "Safely Return HomeStaff members of the colony helped.",
            "Safely Return Home",
        );
        assert_eq!(
            b.blocks,
            vec![Block::Paragraph(
                "Staff members of the colony helped.".into()
            )]
        );
    }

    #[test]
    fn glued_sentences_become_paragraphs() {
        assert_eq!(
            paragraphs("talks with Joan Groizard.During the meeting, they met."),
            vec!["talks with Joan Groizard.", "During the meeting, they met."]
        );
        assert_eq!(
            paragraphs("villages!On March 7 at 10:00 AM."),
            vec!["villages!", "On March 7 at 10:00 AM."]
        );
        assert_eq!(
            paragraphs("return to Pavlodar.\"My son and I were lost,\" she said."),
            vec![
                "return to Pavlodar.",
                "\"My son and I were lost,\" she said."
            ]
        );
        assert_eq!(
            paragraphs("Год 2025.Основным итогом стал рост."),
            vec!["Год 2025.", "Основным итогом стал рост."]
        );
    }

    #[test]
    fn initials_abbreviations_decimals_domains_stay() {
        for text in [
            "President K. K. Tokayev spoke.",
            "Ambassador B.Sadykov participated.",
            "For his part, E.Crisafulli expressed thanks.",
            "H.E. Azamat Yeskarayev met Dr.Smith.",
            "Growth was 0.9% and 5.9% in agriculture.",
            "See www.gov.kz and Gov.Kz for details.",
        ] {
            assert_eq!(paragraphs(text), vec![text.to_string()], "{text}");
        }
    }

    #[test]
    fn bullets_become_lists() {
        let b = Body::parse(
            "Civil servants must:• observe the law;• be polite.The Code also says more.",
            "",
        );
        assert_eq!(
            b.blocks,
            vec![
                Block::Paragraph("Civil servants must:".into()),
                Block::List(vec!["observe the law;".into(), "be polite.".into()]),
                Block::Paragraph("The Code also says more.".into()),
            ]
        );
        assert_eq!(
            b.to_html(),
            "<p>Civil servants must:</p><ul><li>observe the law;</li><li>be polite.</li></ul><p>The Code also says more.</p>"
        );
    }

    #[test]
    fn html_is_escaped() {
        let b = Body::parse("Use <script>alert(1)</script> & \"quotes\".", "");
        assert_eq!(
            b.to_html(),
            "<p>Use &lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quotes\".</p>"
        );
    }

    #[test]
    fn summary_is_plain_and_bounded() {
        let long = "word ".repeat(200);
        let s = Body::parse(&long, "").summary();
        assert!(s.chars().count() <= SUMMARY_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}
