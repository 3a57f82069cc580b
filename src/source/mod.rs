//! Sources: where items come from. Each source turns its input into [`Item`]s and
//! skipped parts ([`Read`]), in input order, without touching the store.

pub mod dump;
pub mod feed;
pub mod fetch;
pub mod plan;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};

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
    Item(Box<Item>, Location, Option<String>),
    /// An entry or line that was skipped.
    Skipped(Location, SkipReason),
}

/// Whether a response body starts like an HTML page (an error page served with status 200).
pub fn looks_like_html(head: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&head[..head.len().min(512)]).to_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.contains("<!doctype html")
}

/// The first bytes of the file at `path`.
pub fn file_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    File::open(path)?.take(512).read_to_end(&mut head)?;
    Ok(head)
}

/// The version of what reading a dump makes of its bytes. Bump it when a release reads the
/// same dump into other items (text restoration, titles, authors): files read by an older
/// reader are then read again, and their items rendered anew — not edits, their `updated`
/// times stay.
pub const READER_VERSION: i64 = 1;

/// A dump file being read: an iterator of [`Read`]s that also hashes the bytes it reads.
pub struct DumpFile<'a> {
    parser: DumpParser<BufReader<Hashing<File>>>,
    path: &'a Path,
    config: &'a Config,
    now: DateTime<FixedOffset>,
}

impl<'a> DumpFile<'a> {
    /// Opens the dump at `path`, read at `now` (which dates entries whose date is implausible).
    pub fn open(
        path: &'a Path,
        config: &'a Config,
        now: DateTime<FixedOffset>,
    ) -> std::io::Result<Self> {
        let reader = Hashing {
            inner: File::open(path)?,
            hasher: Sha256::new(),
        };
        Ok(DumpFile {
            parser: DumpParser::new(BufReader::with_capacity(256 * 1024, reader)),
            path,
            config,
            now,
        })
    }

    /// The SHA-256 (hex) of the bytes read; complete once the iterator is exhausted.
    pub fn sha256(self) -> String {
        crate::text::hex(&self.parser.into_inner().into_inner().hasher.finalize())
    }
}

impl Iterator for DumpFile<'_> {
    type Item = Read;

    fn next(&mut self) -> Option<Read> {
        let at = |line| Location {
            file: self.path.to_path_buf(),
            line,
        };
        Some(match self.parser.next()? {
            Event::Entry(entry) => {
                let site = self.parser.site();
                let (item, warning) = dump::item::item(&entry, site, self.config, self.now);
                Read::Item(Box::new(item), at(entry.line), warning)
            }
            Event::Warning(w) => Read::Skipped(at(w.line), w.reason),
        })
    }
}

/// The SHA-256 (hex) of the file at `path`, read in a stream.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut reader = Hashing {
        inner: File::open(path)?,
        hasher: Sha256::new(),
    };
    std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok(crate::text::hex(&reader.hasher.finalize()))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
