//! Sources: where items come from. Each source turns its input into [`Item`]s and
//! [`Problem`]s, in input order, without touching the store.

pub mod dump;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::item::Item;
use dump::{DumpParser, Event, SkipReason};

/// A place in a source's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (or URL) read.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// What reading a source yields, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// An item, with a warning when part of it was dropped.
    Item(Item, Location, Option<String>),
    /// An entry or line that was skipped.
    Skipped(Location, SkipReason),
}

/// The files a dump `pattern` (a path or a glob) currently matches, sorted.
pub fn dump_files(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let paths = glob::glob(pattern).map_err(|e| format!("invalid glob {pattern}: {}", e.msg))?;
    let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no file matches {pattern}"));
    }
    Ok(files)
}

/// Reads the dump at `path` as a stream of [`Read`]s.
pub fn read_dump<'a>(
    path: &'a Path,
    config: &'a Config,
) -> std::io::Result<impl Iterator<Item = Read> + 'a> {
    let file = File::open(path)?;
    let at = move |line| Location {
        file: path.to_path_buf(),
        line,
    };
    Ok(
        DumpParser::new(BufReader::with_capacity(256 * 1024, file)).map(move |event| match event {
            Event::Entry(entry) => {
                let (item, warning) = Item::from_dump(&entry, config);
                Read::Item(item, at(entry.line), warning)
            }
            Event::Warning(w) => Read::Skipped(at(w.line), w.reason),
        }),
    )
}
