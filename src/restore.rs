//! Restoring the structure a scraper flattened. The dumps' bodies are one line each: the page's
//! paragraphs, headings and list items were glued together with no separator. This module
//! finds the glue points and leaves alone what only looks like one, in Kazakh, Russian and
//! English; the words it needs to know are data, in `src/restore/*.txt`.
//!
//! Glue points (a paragraph starts after each):
//! - a sentence end glued to the next sentence: `the meeting.During`, `обществе.В целях`
//!   (a one-letter word), `reached 6.5%.Positive` (after a symbol, a digit, a bracket or a
//!   quote), `villages!On`;
//! - a heading glued to its text, seen as a small letter followed by a capital inside a word:
//!   `Official EthicsThe Ethical Code`, `contestWe invite`; or a number followed by a word:
//!   `February 2026The`;
//! - list items: bullets (`•`, and emoji such as `🔹` or `✅` when they start at least two
//!   items) and keycap numbers (`1️⃣` … `🔟`, a numbered list).
//!
//! Never split: initials (`K. K. Tokayev`, `B.Sadykov`, `Ch.Omarov`, `Ж.Ахметов`, `H.E.`),
//! decimals and percentages (`6.5`, `1,9`), times (`10.00`), dates (`12.02.2026`), domains
//! and e-mail addresses (`Gov.Kz`, `press@mfa.kz`), `No. 5`, each language's abbreviations
//! (`etc.`, `e.g.`, `т.е.`, `г.`, `им.`, `обл.`, `ж.`, `б.`) and mixed-case names
//! (`KazMunayGas`, `QazaQ`, `iPhone`, `McDonald`).
//!
//! A paragraph still longer than [`LONG_PARAGRAPH`] characters (a body that kept no structure
//! at all) is split at its sentence ends into paragraphs of at least [`PARAGRAPH_CHARS`].

use std::collections::HashSet;
use std::sync::OnceLock;

/// A block of restored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph.
    Paragraph(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A numbered list.
    Numbered(Vec<String>),
}

/// Paragraphs longer than this (in characters) are split at sentence ends.
pub const LONG_PARAGRAPH: usize = 700;

/// The least length (in characters) of a paragraph split off a long one.
pub const PARAGRAPH_CHARS: usize = 300;

/// Top-level domains whose label after a full stop marks a domain, not a sentence.
const DOMAINS: &[&str] = &[
    "kz", "ru", "com", "org", "net", "gov", "edu", "int", "info", "io", "uk", "de", "fr", "us",
    "cn", "tr", "uz", "kg", "by", "ua", "eu", "tj", "tm", "az", "am", "ge",
];

/// Full stops and the like that can end a sentence.
const ENDS: &[char] = &['.', '!', '?', '…'];

/// What may close a sentence after its full stop.
const CLOSING: &[char] = &['”', '»', '’', ')', '"', '\''];

/// What may open a sentence before its first word.
const OPENING: &[char] = &['"', '“', '«', '\'', '('];

/// The words the rules need, read once from `src/restore/*.txt`.
struct Words {
    abbreviations: HashSet<String>,
    initials: HashSet<String>,
    one_letter: HashSet<char>,
    mixed_case: HashSet<String>,
    mixed_prefixes: Vec<String>,
    always_bullets: Vec<String>,
    repeated_bullets: Vec<String>,
}

/// The entries of a data file: every word after the `label:` of each line (or of every line,
/// when `label` is `None`), comments (`#`) left out.
fn entries<'a>(text: &'a str, label: Option<&'a str>) -> impl Iterator<Item = &'a str> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(move |line| match label {
            None => Some(line),
            Some(label) => line.strip_prefix(label)?.strip_prefix(':'),
        })
        .flat_map(str::split_whitespace)
}

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| {
        let abbreviations = include_str!("restore/abbreviations.txt");
        let one_letter = include_str!("restore/one_letter_words.txt");
        let mixed = include_str!("restore/mixed_case.txt");
        let bullets = include_str!("restore/bullets.txt");
        let labelled = |text: &'static str| {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(':'))
                .flat_map(|(_, words)| words.split_whitespace())
        };
        Words {
            abbreviations: labelled(abbreviations).map(str::to_lowercase).collect(),
            initials: entries(include_str!("restore/initials.txt"), None)
                .map(str::to_string)
                .collect(),
            one_letter: labelled(one_letter)
                .filter_map(|w| w.chars().next())
                .collect(),
            mixed_case: entries(mixed, None)
                .filter(|w| !w.ends_with('*'))
                .map(str::to_string)
                .collect(),
            mixed_prefixes: entries(mixed, None)
                .filter_map(|w| w.strip_suffix('*'))
                .map(str::to_string)
                .collect(),
            always_bullets: entries(bullets, Some("always"))
                .map(str::to_string)
                .collect(),
            repeated_bullets: entries(bullets, Some("repeated"))
                .map(str::to_string)
                .collect(),
        }
    })
}

/// Restores the paragraphs and lists of `text`.
pub fn blocks(text: &str) -> Vec<Block> {
    let words = words();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut cuts = glue_points(&chars, words);
    cuts.push(text.len());
    let bullets = bullets(text, words);
    let mut blocks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        let paragraph = text[start..cut].trim();
        start = cut;
        if !paragraph.is_empty() {
            lists(paragraph, &bullets, &mut blocks);
        }
    }
    blocks
        .into_iter()
        .flat_map(|block| match block {
            Block::Paragraph(p) if p.chars().count() > LONG_PARAGRAPH => split_long(&p, words)
                .into_iter()
                .map(Block::Paragraph)
                .collect(),
            other => vec![other],
        })
        .collect()
}

/// The byte offsets where a paragraph break was lost.
fn glue_points(chars: &[(usize, char)], words: &Words) -> Vec<usize> {
    let mut cuts = Vec::new();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    for i in 0..chars.len() {
        let c = chars[i].1;
        let cut = if ENDS.contains(&c) {
            sentence_glue(chars, i, words)
        } else if c.is_lowercase() && at(i + 1).is_some_and(char::is_uppercase) {
            heading_glue(chars, i, words).then_some(i + 1)
        } else if c.is_ascii_digit()
            && at(i + 1).is_some_and(char::is_uppercase)
            && at(i + 2).is_some_and(char::is_lowercase)
        {
            Some(i + 1)
        } else {
            None
        };
        if let Some(j) = cut {
            cuts.push(chars[j].0);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// After the sentence-ending mark at `i`, where the next sentence starts when it is glued on
/// (the index after any closing quotes), if it is.
fn sentence_glue(chars: &[(usize, char)], i: usize, words: &Words) -> Option<usize> {
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    // Closing quotes and brackets go with the sentence they end; a straight quote before a
    // capital opens the next one instead.
    let mut j = i + 1;
    while let Some(c) = at(j) {
        let straight = c == '"' || c == '\'';
        if !CLOSING.contains(&c) || (straight && starts_word(chars, j + 1)) {
            break;
        }
        j += 1;
    }
    let mut k = j;
    if at(k).is_some_and(|c| OPENING.contains(&c)) {
        k += 1;
    }
    if !starts_word(chars, k) || !words_one_or_more(chars, k, words) {
        return None;
    }
    ends_sentence(chars, i, words).then_some(j)
}

/// Whether a capitalized word starts at `k`.
fn starts_word(chars: &[(usize, char)], k: usize) -> bool {
    chars.get(k).is_some_and(|&(_, c)| c.is_uppercase())
}

/// Whether the capital at `k` starts a word the next sentence can start with: two letters or
/// more, a one-letter word followed by a space, or an initial.
fn words_one_or_more(chars: &[(usize, char)], k: usize, words: &Words) -> bool {
    let next = chars.get(k + 1).map(|&(_, c)| c);
    match next {
        Some(c) if c.is_alphabetic() => true,
        Some('.') => true,
        Some(c) if c.is_whitespace() => words.one_letter.contains(&chars[k].1),
        _ => false,
    }
}

/// Whether the mark at `i` ends a sentence: it is not the full stop of an initial, an
/// abbreviation, a domain or an e-mail address.
fn ends_sentence(chars: &[(usize, char)], i: usize, words: &Words) -> bool {
    if chars[i].1 != '.' {
        return true;
    }
    let Some(&(_, before)) = i.checked_sub(1).and_then(|b| chars.get(b)) else {
        return false;
    };
    if !before.is_alphabetic() {
        // A digit, a percent sign, a bracket or a quote: `6.5%.Positive`, `(2025).The`.
        return true;
    }
    // The token before: letters with inner full stops and hyphens (`т.е`, `K.K`, `р-н`).
    let mut start = i;
    while start > 0 && {
        let c = chars[start - 1].1;
        c.is_alphabetic() || c == '.' || c == '-'
    } {
        start -= 1;
    }
    let token: String = chars[start..i].iter().map(|&(_, c)| c).collect();
    let token = token.trim_start_matches(['.', '-']).to_lowercase();
    // The token may run on from an earlier sentence (`Astana.K`): each of its endings counts.
    let endings = std::iter::once(token.as_str())
        .chain(token.match_indices('.').map(|(dot, _)| &token[dot + 1..]));
    let last: String = chars[start..i]
        .iter()
        .rev()
        .map(|&(_, c)| c)
        .take_while(|c| c.is_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut endings = endings;
    if endings.any(|e| words.abbreviations.contains(e)) || words.initials.contains(&last) {
        return false;
    }
    // An initial: a single capital (`K`, `K.K`, `H.E`).
    if last.chars().count() == 1 && last.chars().all(char::is_uppercase) {
        return false;
    }
    // An e-mail address or a domain: `press@mfa.Kz`, `Gov.Kz`, `www.Akorda.kz`.
    if start > 0 && chars[start - 1].1 == '@' {
        return false;
    }
    let label: String = chars[i + 1..]
        .iter()
        .map(|&(_, c)| c)
        .take_while(|c| c.is_alphanumeric())
        .collect();
    let after = chars.get(i + 1 + label.chars().count()).map(|&(_, c)| c);
    let label_ends = after.is_none_or(|c| !c.is_alphanumeric() && c != '.' || c == '/');
    !(label_ends && DOMAINS.contains(&label.to_lowercase().as_str()))
}

/// Whether the small letter at `i` followed by a capital is a heading glued to its text
/// rather than a mixed-case name.
fn heading_glue(chars: &[(usize, char)], i: usize, words: &Words) -> bool {
    let letter = |k: usize| chars.get(k).is_some_and(|&(_, c)| c.is_alphabetic());
    let mut start = i;
    while start > 0 && letter(start - 1) {
        start -= 1;
    }
    let mut end = i + 1;
    while letter(end) {
        end += 1;
    }
    let word: String = chars[start..end].iter().map(|&(_, c)| c).collect();
    let before = i + 1 - start;
    // The part after the capital, up to the next such capital or the end of the word.
    let mut next = i + 2;
    while next < end && !(chars[next - 1].1.is_lowercase() && chars[next].1.is_uppercase()) {
        next += 1;
    }
    let after = next - (i + 1);
    let transitions = chars[start..end]
        .windows(2)
        .filter(|w| w[0].1.is_lowercase() && w[1].1.is_uppercase())
        .count();
    let named = words.mixed_case.contains(&word)
        || words.mixed_prefixes.iter().any(|p| {
            word.starts_with(p.as_str())
                && word[p.len()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_uppercase)
        });
    if before <= 1 || transitions >= 2 || named {
        // `iPhone`, `KazMunayGas`, `McDonald`.
        return false;
    }
    if after == 1 {
        // `QazaQ` ends in a capital; `контрольВ целях` glues a one-letter word on.
        let spaced = chars.get(i + 2).is_some_and(|&(_, c)| c.is_whitespace());
        return spaced && words.one_letter.contains(&chars[i + 1].1);
    }
    true
}

/// Where a keycap number (`1️⃣`, `🔟`) starts, and how many bytes it takes.
fn keycap(text: &str) -> Option<usize> {
    if let Some(rest) = text.strip_prefix('🔟') {
        return Some(text.len() - rest.len());
    }
    let mut chars = text.chars();
    chars.next().filter(char::is_ascii_digit)?;
    let rest = chars.as_str();
    let rest = rest.strip_prefix('\u{FE0F}').unwrap_or(rest);
    let rest = rest.strip_prefix('\u{20E3}')?;
    Some(text.len() - rest.len())
}

/// The bullets that mark list items in `body`: those that always do, and an emoji bullet
/// when it starts two items or more. Found once per body (each paragraph uses them).
fn bullets<'a>(body: &str, words: &'a Words) -> Vec<&'a str> {
    words
        .always_bullets
        .iter()
        .chain(
            words
                .repeated_bullets
                .iter()
                .filter(|b| body.matches(b.as_str()).nth(1).is_some()),
        )
        .map(String::as_str)
        .collect()
}

/// Splits `paragraph` at `bullets` into a lead paragraph and lists, pushed onto `blocks`.
fn lists(paragraph: &str, bullets: &[&str], blocks: &mut Vec<Block>) {
    // (start of the marker, end of the marker, numbered) for each item.
    let mut marks = Vec::new();
    let mut i = 0;
    while i < paragraph.len() {
        // Markers are digits (keycaps) or not ASCII at all.
        if paragraph.as_bytes()[i].is_ascii() && !paragraph.as_bytes()[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let rest = &paragraph[i..];
        if let Some(len) = keycap(rest) {
            marks.push((i, i + len, true));
            i += len;
            continue;
        }
        if let Some(b) = bullets
            .iter()
            .filter(|b| rest.starts_with(**b))
            .max_by_key(|b| b.len())
        {
            let mut end = i + b.len();
            if paragraph[end..].starts_with('\u{FE0F}') {
                end += '\u{FE0F}'.len_utf8();
            }
            marks.push((i, end, false));
            i = end;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    let lead_end = marks.first().map_or(paragraph.len(), |m| m.0);
    let lead = paragraph[..lead_end].trim();
    if !lead.is_empty() {
        blocks.push(Block::Paragraph(lead.to_string()));
    }
    for (n, &(_, from, numbered)) in marks.iter().enumerate() {
        let to = marks.get(n + 1).map_or(paragraph.len(), |m| m.0);
        let item = paragraph[from..to].trim().to_string();
        if item.is_empty() {
            continue;
        }
        match (blocks.last_mut(), numbered) {
            (Some(Block::List(items)), false) | (Some(Block::Numbered(items)), true) if n > 0 => {
                items.push(item)
            }
            (_, false) => blocks.push(Block::List(vec![item])),
            (_, true) => blocks.push(Block::Numbered(vec![item])),
        }
    }
}

/// Splits a long paragraph at its sentence ends (a mark, a space, a capital) into paragraphs
/// of at least [`PARAGRAPH_CHARS`] characters.
fn split_long(paragraph: &str, words: &Words) -> Vec<String> {
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut start_char = 0;
    let mut quotes = Quotes::default();
    for i in 0..chars.len() {
        quotes.step(i, chars[i].1);
        if !ENDS.contains(&chars[i].1) || i - start_char < PARAGRAPH_CHARS {
            continue;
        }
        let mut j = i + 1;
        while chars.get(j).is_some_and(|&(_, c)| CLOSING.contains(&c)) {
            j += 1;
        }
        if chars.get(j).is_none_or(|&(_, c)| c != ' ') {
            continue;
        }
        let mut k = j + 1;
        if chars.get(k).is_some_and(|&(_, c)| OPENING.contains(&c)) {
            k += 1;
        }
        if !starts_word(&chars, k) || !words_one_or_more(&chars, k, words) {
            continue;
        }
        if !ends_sentence(&chars, i, words) || chars.len() - j < PARAGRAPH_CHARS / 2 {
            continue;
        }
        // Not inside a quotation: a speech quoted over several sentences stays whole.
        let mut after = quotes.clone();
        for (n, &(_, c)) in chars.iter().enumerate().take(j).skip(i + 1) {
            after.step(n, c);
        }
        if after.open(i) {
            continue;
        }
        out.push(paragraph[start..chars[j].0].trim().to_string());
        start = chars[j].0;
        start_char = j;
    }
    out.push(paragraph[start..].trim().to_string());
    out.retain(|p| !p.is_empty());
    out
}

/// Whether a text read so far is inside a quotation: `“…”`, `«…»` (nested) or `"…"`.
#[derive(Debug, Clone, Default)]
struct Quotes {
    depth: usize,
    straight: bool,
    /// Where the outermost open quotation began.
    since: usize,
}

impl Quotes {
    fn step(&mut self, at: usize, c: char) {
        let was_open = self.depth > 0 || self.straight;
        match c {
            '“' | '«' => self.depth += 1,
            '”' | '»' => self.depth = self.depth.saturating_sub(1),
            '"' => self.straight = !self.straight,
            _ => {}
        }
        if !was_open {
            self.since = at;
        }
    }

    /// Inside a quotation at `at`; one open longer than a long paragraph was never closed.
    fn open(&self, at: usize) -> bool {
        (self.depth > 0 || self.straight) && at - self.since <= LONG_PARAGRAPH
    }
}

#[cfg(test)]
mod tests;
