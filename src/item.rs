//! The normalized item every source produces and the store keeps.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// One news item, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Identity: the canonical source URL, or a fallback key (`t:<hash>`).
    pub key: String,
    /// The GUID to publish the first time the item is seen (never changed afterwards).
    pub guid: String,
    /// Whether `guid` is the item's URL (RSS `isPermaLink`).
    pub guid_is_permalink: bool,
    /// The source URL, as the source gave it.
    pub link: Option<String>,
    /// The gov.kz entity slug of the source URL.
    pub entity: Option<String>,
    /// The gov.kz news id, used to order items of the same date.
    pub news_id: Option<i64>,
    /// Title, plain text.
    pub title: String,
    /// Body, HTML.
    pub content_html: String,
    /// Summary, plain text.
    pub summary: String,
    /// When the item was published: its source's date when [`plausible`], else when it was
    /// first seen. For an item dated by a day only, midnight of that day: the store gives it
    /// its instant in the day ([`Item::day`]).
    pub published: DateTime<FixedOffset>,
    /// The day, when the source gives a day and no time (a dump's `DD.MM.YYYY`).
    pub day: Option<NaiveDate>,
    /// A digest of what the source gave, before it was made readable: the same input rendered
    /// otherwise by a later release is not an edit.
    pub input_hash: String,
    /// Authors' names.
    pub authors: Vec<String>,
    /// Categories from the source (the ministry is added when rendering).
    pub categories: Vec<String>,
    /// An image attached to the item.
    pub enclosure: Option<Enclosure>,
    /// The item's language tag, when the source says.
    pub language: Option<String>,
    /// The feed a source pins all its items to (`ministry = ...`), bypassing attribution.
    pub pinned_feed: Option<String>,
    /// The title's language tag, when it differs from the item's.
    pub title_language: Option<String>,
}

/// An attached media object (RSS `enclosure`, Atom `link rel="enclosure"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enclosure {
    /// Absolute URL.
    pub url: String,
    /// Media type, e.g. `image/jpeg`.
    pub mime_type: String,
    /// Length in bytes (0 when unknown).
    pub length: u64,
}

/// The first year whose dates are taken at face value: the web, and Kazakhstan's
/// independence, begin in 1991. An earlier date is a typo (`10.02.1926`).
pub const EARLIEST_YEAR: i32 = 1991;

/// How far after the moment an item is first seen its date may lie: a day, for time zones
/// and clocks a little ahead. A later date (`31.12.2099`) would pin the item on top of every
/// feed.
pub const FUTURE_SLACK: chrono::Duration = chrono::Duration::days(1);

/// Whether `date` is plausible for an item first seen at `now`: from 1 January
/// [`EARLIEST_YEAR`] to [`FUTURE_SLACK`] after `now`.
pub fn plausible(date: DateTime<FixedOffset>, now: DateTime<FixedOffset>) -> bool {
    date.year() >= EARLIEST_YEAR && date <= now + FUTURE_SLACK
}

/// `date` when [`plausible`], else `now` with a warning saying why the date was not used.
pub fn date_or_now(
    date: DateTime<FixedOffset>,
    now: DateTime<FixedOffset>,
) -> (DateTime<FixedOffset>, Option<String>) {
    if plausible(date, now) {
        return (date, None);
    }
    let latest = (now + FUTURE_SLACK).date_naive();
    let warning = format!(
        "date {} is outside {EARLIEST_YEAR}-01-01 to {latest}; the item is dated when it was \
         first seen",
        date.date_naive()
    );
    (now, Some(warning))
}

/// A digest of an item's input `parts`, hex.
pub fn input_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    crate::text::hex(&h.finalize()[..16])
}

/// An item's language (`declared` by its source, else detected from its body, else its
/// title) and its title's, when that differs.
pub fn languages(
    title: &str,
    body: &str,
    declared: Option<String>,
) -> (Option<String>, Option<String>) {
    let title_lang = crate::language::detect(title);
    let language = declared.or_else(|| {
        crate::language::detect(body)
            .or(title_lang)
            .map(str::to_string)
    });
    let title_language = title_lang
        .filter(|t| language.as_deref().is_some_and(|l| !l.starts_with(t)))
        .map(str::to_string);
    (language, title_language)
}

/// Midnight of `date` in `tz`, with its explicit offset (the first instant of the day when
/// midnight falls in a DST gap).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<FixedOffset> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            (1..=3)
                .filter_map(|h| {
                    tz.from_local_datetime(&(naive + chrono::Duration::hours(h)))
                        .earliest()
                })
                .next()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&naive));
    local.fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn almaty_midnight_has_its_offset() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        assert_eq!(
            local_midnight(d, tz).to_rfc3339(),
            "2026-02-10T00:00:00+05:00"
        );
    }

    #[test]
    fn dates_outside_the_plausible_range_are_replaced_by_now() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let now = tz
            .with_ymd_and_hms(2026, 2, 11, 9, 30, 0)
            .unwrap()
            .fixed_offset();
        let day = |y, m, d| local_midnight(NaiveDate::from_ymd_opt(y, m, d).unwrap(), tz);
        for ok in [day(1991, 1, 1), day(2026, 2, 10), day(2026, 2, 12)] {
            assert_eq!(date_or_now(ok, now), (ok, None));
        }
        for bad in [
            day(1926, 2, 10),
            day(1990, 12, 31),
            day(2026, 2, 13),
            day(2099, 12, 31),
        ] {
            let (date, warning) = date_or_now(bad, now);
            assert_eq!(date, now);
            let warning = warning.unwrap();
            assert!(warning.contains(&bad.date_naive().to_string()), "{warning}");
            assert!(warning.contains("1991-01-01 to 2026-02-12"), "{warning}");
        }
    }

    #[test]
    fn midnight_in_a_dst_gap_moves_forward() {
        // Santiago skips from 00:00 to 01:00 on its spring-forward day.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let t = local_midnight(d, tz);
        assert_eq!(t.date_naive(), d);
    }
}
