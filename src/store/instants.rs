//! The instants of date-only items: a gov.kz dump dates its news by day; each new item gets
//! an instant within that day once, placed so that readers sorting by date keep the feed's
//! order.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime};
use std::cmp::Reverse;

use super::{Batch, StoreError};

impl Batch<'_> {
    /// The instant of a new item dated `day` only, with gov.kz news id `news_id`: within 05:00
    /// to 15:00 UTC of that day, so that readers from UTC−5 to UTC+9 all show that day; and
    /// between the instants of the day's items it falls between in feed order (news id
    /// descending, then first seen), so that a reader sorting by date keeps the feed's order
    /// and no two items share an instant while there is room. Items with a news id take the
    /// later half of the window, those without (last in feed order) the earlier half. Chosen
    /// once: an item keeps it.
    pub(super) fn instant_in_day(
        &self,
        day: NaiveDate,
        news_id: Option<i64>,
        offset: FixedOffset,
    ) -> Result<DateTime<FixedOffset>, StoreError> {
        /// The gap left between neighbours when there is room.
        const STEP: i64 = 60;
        let midnight = day.and_time(NaiveTime::MIN).and_utc().timestamp();
        let middle = midnight + 10 * 3600;
        // The item's half of the window, as exclusive bounds.
        let (low, high) = match news_id {
            Some(_) => (middle - 1, midnight + 15 * 3600),
            None => (midnight + 5 * 3600 - 1, middle),
        };
        let number = i64::from(day.num_days_from_ce());
        // The day's items: (instant, news id, row id); a few dozen at most on gov.kz.
        let items = self
            .conn
            .prepare_cached("SELECT published_ts, news_id, id FROM item WHERE day = ?1")
            .and_then(|mut s| {
                s.query_map([number], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.err(e))?;
        let neighbour = |found: Option<&(i64, Option<i64>, i64)>| found.map(|&(t, n, _)| (t, n));
        // The neighbours: the item just above (later) and just below (earlier) in feed order,
        // which is news id descending, then row id ascending, items without a news id last.
        let (above, below) = match news_id {
            Some(id) => (
                neighbour(
                    items
                        .iter()
                        .filter(|(_, n, _)| n.is_some_and(|n| n >= id))
                        .min_by_key(|&&(_, n, row)| (n, Reverse(row))),
                ),
                neighbour(
                    items
                        .iter()
                        .filter(|(_, n, _)| n.is_none_or(|n| n < id))
                        .min_by_key(|&&(_, n, row)| (n.is_none(), n.map(Reverse), row)),
                ),
            ),
            None => (
                neighbour(
                    items
                        .iter()
                        .min_by_key(|&&(_, n, row)| (n.is_some(), n, Reverse(row))),
                ),
                None,
            ),
        };
        let hi = above.map_or(high, |(t, _)| t.min(high));
        let lo = below.map_or(low, |(t, _)| t.max(low));
        let room = hi - lo;
        let step = STEP.min(room / 2).max(0);
        let ts = match news_id {
            None => match above {
                // The day's first item without a news id: the top of the earlier half.
                None | Some((_, Some(_))) => high - 1,
                // Later ones: below the last.
                Some(_) => hi - step,
            },
            Some(n) => match (above, below) {
                // The day's first news: the middle of its half, room both ways.
                (None, None) | (None, Some((_, None))) => (lo + hi) / 2,
                // Between two news: as far from each as their ids are.
                (Some((_, Some(a))), Some((_, Some(b)))) if a > b && room >= 2 => {
                    lo + (room * (n - b) / (a - b)).clamp(1, room - 1)
                }
                (Some(_), _) => hi - step,
                (None, Some(_)) => lo + step,
            },
        };
        let ts = ts.clamp(low + 1, high - 1);
        Ok(DateTime::from_timestamp(ts, 0)
            .unwrap_or_default()
            .with_timezone(&offset))
    }
}
