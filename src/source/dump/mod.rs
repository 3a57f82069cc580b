//! Streaming parser for text dumps of news.
//!
//! A dump starts with a site line and a section line; then each entry is a title line ending
//! in ` DD.MM.YYYY` followed by one body line. Blank lines are ignored anywhere. The parser
//! reads one line at a time (at most [`MAX_LINE`] bytes), so memory does not grow with the
//! dump, and it never fails: a malformed entry becomes a [`Warning`] naming its line.

pub mod item;

use std::fmt;
use std::io::{self, BufRead};

use chrono::NaiveDate;

/// Lines longer than this are skipped with a warning rather than held in memory.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// Title lines longer than this are taken to be body text that happens to end in a date.
const MAX_TITLE_CHARS: usize = 500;

/// A site line longer than this is not a site's name, and is not used as one.
const MAX_SITE_CHARS: usize = 200;

/// One well-formed entry of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number of the title line.
    pub line: usize,
    /// The title without its trailing date.
    pub title: String,
    /// The date at the end of the title line.
    pub date: NaiveDate,
    /// The body line, as written.
    pub body: String,
}

/// Why an entry (or a line) was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number the problem is on.
    pub line: usize,
    /// What was wrong.
    pub reason: SkipReason,
}

/// The classes of malformed input, counted in the build summary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// A title line whose date does not exist (e.g. `31.02.2026`).
    ImpossibleDate(String),
    /// A title line not followed by a body line.
    NoBody,
    /// The last line of the file has no line end and stops mid-sentence.
    Truncated,
    /// Text where a title line was expected.
    StrayLine,
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// A title line (it ends in a date) longer than the title limit.
    TitleTooLong,
    /// The file could not be read to the end.
    ReadError(String),
}

impl SkipReason {
    /// A short label for summaries, without the per-entry detail.
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::ImpossibleDate(_) => "impossible date",
            SkipReason::NoBody => "title without body",
            SkipReason::Truncated => "truncated last line",
            SkipReason::StrayLine => "text outside an entry",
            SkipReason::LineTooLong => "line too long",
            SkipReason::TitleTooLong => "title too long",
            SkipReason::ReadError(_) => "read error",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::ImpossibleDate(d) => write!(f, "impossible date {d}; entry skipped"),
            SkipReason::NoBody => f.write_str("title line without a body line; entry skipped"),
            SkipReason::Truncated => f.write_str("last line is truncated; entry skipped"),
            SkipReason::StrayLine => f.write_str(
                "expected a title line ending in DD.MM.YYYY or a body line after one; line skipped",
            ),
            SkipReason::LineTooLong => {
                write!(f, "line longer than {MAX_LINE} bytes; skipped")
            }
            SkipReason::TitleTooLong => write!(
                f,
                "title longer than {MAX_TITLE_CHARS} characters; entry skipped"
            ),
            SkipReason::ReadError(e) => write!(f, "read error: {e}; rest of the file skipped"),
        }
    }
}

/// What the parser yields: an entry or a warning, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A well-formed entry.
    Entry(Entry),
    /// A skipped entry or line.
    Warning(Warning),
}

/// The parser: an iterator of [`Event`]s over a reader.
pub struct DumpParser<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: usize,
    seen_title: bool,
    header_lines: usize,
    site: Option<String>,
    pending: Option<(usize, String, NaiveDate)>,
    skipping_body: bool,
    queue: std::collections::VecDeque<Event>,
    done: bool,
}

/// One physical line, cleaned.
struct Line {
    text: String,
    terminated: bool,
    too_long: bool,
}

impl<R: BufRead> DumpParser<R> {
    /// Starts parsing `reader`.
    pub fn new(reader: R) -> Self {
        DumpParser {
            reader,
            buf: Vec::new(),
            line_no: 0,
            seen_title: false,
            header_lines: 0,
            site: None,
            pending: None,
            skipping_body: false,
            queue: Default::default(),
            done: false,
        }
    }

    /// The dump's site line (its first line), once read: the name of the site the dump's
    /// items come from.
    pub fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    /// Gives back the reader (after the last event, it has been read to the end).
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn warn(&mut self, line: usize, reason: SkipReason) {
        self.queue
            .push_back(Event::Warning(Warning { line, reason }));
    }

    /// Reads the next line (without its line end), bounded by [`MAX_LINE`].
    fn read_line(&mut self) -> io::Result<Option<Line>> {
        self.buf.clear();
        let n = io::Read::take(&mut self.reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        let mut terminated = self.buf.last() == Some(&b'\n');
        let too_long = !terminated && self.buf.len() > MAX_LINE;
        if too_long {
            // Drop the rest of the over-long line without holding it.
            loop {
                let chunk = self.reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.reader.consume(i + 1);
                        terminated = true;
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        self.reader.consume(len);
                    }
                }
            }
        }
        self.line_no += 1;
        let mut bytes: &[u8] = &self.buf;
        if self.line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = crate::text::clean(&String::from_utf8_lossy(bytes));
        Ok(Some(Line {
            text,
            terminated,
            too_long,
        }))
    }

    fn step(&mut self) -> bool {
        let line = match self.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => {
                self.finish();
                return false;
            }
            Err(e) => {
                let at = self.line_no + 1;
                self.warn(at, SkipReason::ReadError(e.to_string()));
                self.finish();
                return false;
            }
        };
        let no = self.line_no;
        if line.too_long {
            self.warn(no, SkipReason::LineTooLong);
            if let Some((title_line, _, _)) = self.pending.take() {
                self.warn(title_line, SkipReason::NoBody);
            }
            return true;
        }
        let text = line.text.trim();
        if text.is_empty() {
            return true;
        }
        let dated = parse_title(text);
        let too_long = dated.is_some() && text.chars().count() > MAX_TITLE_CHARS;
        let title = dated.filter(|_| !too_long);
        if let Some((title_line, title_text, date)) = self.pending.take() {
            if title.is_none() {
                if !line.terminated && !looks_complete(text) {
                    self.warn(no, SkipReason::Truncated);
                } else {
                    self.queue.push_back(Event::Entry(Entry {
                        line: title_line,
                        title: title_text,
                        date,
                        body: text.to_string(),
                    }));
                }
                return true;
            }
            self.warn(title_line, SkipReason::NoBody);
        }
        match title {
            Some(Ok((title, date))) => {
                self.seen_title = true;
                self.skipping_body = false;
                if !line.terminated {
                    self.warn(no, SkipReason::NoBody);
                } else {
                    self.pending = Some((no, title, date));
                }
            }
            Some(Err(date)) => {
                self.seen_title = true;
                self.skipping_body = true;
                self.warn(no, SkipReason::ImpossibleDate(date));
            }
            None if !self.seen_title && self.header_lines < 2 => {
                if self.header_lines == 0 && text.chars().count() <= MAX_SITE_CHARS {
                    self.site = Some(crate::text::readable(text)).filter(|s| !s.is_empty());
                }
                self.header_lines += 1;
            }
            None if self.skipping_body => self.skipping_body = false,
            // Not the body of a title line (that was taken above): a title, but too long.
            None if too_long => {
                self.seen_title = true;
                self.skipping_body = true;
                self.warn(no, SkipReason::TitleTooLong);
            }
            None => self.warn(no, SkipReason::StrayLine),
        }
        true
    }

    fn finish(&mut self) {
        if let Some((title_line, _, _)) = self.pending.take() {
            self.warn(title_line, SkipReason::NoBody);
        }
        self.done = true;
    }
}

impl<R: BufRead> Iterator for DumpParser<R> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.done || !self.step() && self.queue.is_empty() {
                return None;
            }
        }
    }
}

/// Splits a title line into title and date. `None`: not a title line; `Some(Err(d))`: a title
/// line whose date `d` does not exist.
fn parse_title(line: &str) -> Option<Result<(String, NaiveDate), String>> {
    let (title, date) = line.rsplit_once(char::is_whitespace)?;
    let shape_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 2 || i == 5 {
                b == b'.'
            } else {
                b.is_ascii_digit()
            }
        });
    let title = title.trim();
    if !shape_ok || title.is_empty() {
        return None;
    }
    Some(match NaiveDate::parse_from_str(date, "%d.%m.%Y") {
        Ok(d) => Ok((crate::text::collapse_whitespace(title), d)),
        Err(_) => Err(date.to_string()),
    })
}

/// Whether a line without a line end still reads as finished: it ends a sentence or a URL.
fn looks_complete(text: &str) -> bool {
    let ends_sentence = text
        .chars()
        .last()
        .is_some_and(|c| ".!?…\"”»)'".contains(c));
    let ends_with_url = text
        .rsplit(char::is_whitespace)
        .next()
        .is_some_and(|w| w.starts_with("http://") || w.starts_with("https://"));
    ends_sentence || ends_with_url
}

#[cfg(test)]
mod tests;
