//! Where in the config file something is: `line:column`, the dotted key, and paths
//! resolved against the file's folder.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn error(&self, span: Option<Range<usize>>, message: &str) -> ConfigError {
        let (position, key) = match span {
            Some(span) => (
                Some(line_col(self.text, span.start)),
                key_at(self.text, span.start),
            ),
            None => (None, None),
        };
        ConfigError {
            file: self.path.to_path_buf(),
            position,
            key,
            message: message.to_string(),
        }
    }

    pub(super) fn at<T>(&self, spanned: &Spanned<T>, message: &str) -> ConfigError {
        self.error(Some(spanned.span()), message)
    }

    pub(super) fn resolve(&self, relative: &str) -> PathBuf {
        let file = std::path::absolute(self.path).unwrap_or_else(|_| self.path.to_path_buf());
        let base = file.parent().unwrap_or(Path::new("/"));
        normalize_path(&base.join(relative))
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// The dotted key path (`source[1].schedule`) of the innermost key or value at `offset`.
/// The dotted key path (`source[1].schedule`) of the innermost key or value at `offset`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    find_key(doc.get_ref(), offset)
}

fn find_key(table: &DeTable<'_>, offset: usize) -> Option<String> {
    for (key, value) in table.iter() {
        let inner =
            match value.get_ref() {
                DeValue::Table(t) => find_key(t, offset).map(|p| format!(".{p}")),
                DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| match item
                    .get_ref()
                {
                    DeValue::Table(t) => find_key(t, offset).map(|p| format!("[{i}].{p}")),
                    _ if item.span().contains(&offset) => Some(format!("[{i}]")),
                    _ => None,
                }),
                _ => None,
            };
        if let Some(inner) = inner {
            return Some(format!("{}{inner}", key.get_ref()));
        }
        if key.span().contains(&offset) || value.span().contains(&offset) {
            return Some(key.get_ref().to_string());
        }
    }
    None
}

/// Lexically removes `.` and `..` components, so printed paths are readable.
pub(super) fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A whole number in `range`, or `default` when absent.
pub(super) fn bounded(
    ctx: &Ctx<'_>,
    value: Option<Spanned<i64>>,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default.unsigned_abs()),
        Some(v) if range.contains(v.get_ref()) => Ok(v.get_ref().unsigned_abs()),
        Some(v) => Err(ctx.at(
            &v,
            &format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}
