//! Cron schedules: standard 5-field expressions (minute first, day of week 0–7 with Sunday as
//! 0 or 7) and 6-field ones (seconds first), evaluated in the site's time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone};
use chrono_tz::Tz;
use cron::Schedule;

/// A validated cron schedule.
#[derive(Clone)]
pub struct Cron {
    source: String,
    schedule: Schedule,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.source)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    /// Parses a 5- or 6-field cron expression.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let full = match fields.len() {
            5 => {
                let dow = standard_day_of_week(fields[4])?;
                format!(
                    "0 {} {} {} {} {dow}",
                    fields[0], fields[1], fields[2], fields[3]
                )
            }
            6 => fields.join(" "),
            n => return Err(format!("{n} fields")),
        };
        let schedule = Schedule::from_str(&full).map_err(|e| e.to_string())?;
        Ok(Cron {
            source: expr.trim().to_string(),
            schedule,
        })
    }

    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.schedule.after(after).next()
    }

    /// The shortest gap between two consecutive ticks over the next few ticks, if it ticks.
    pub fn interval(&self, tz: Tz) -> Option<Duration> {
        let start = tz.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single()?;
        let ticks: Vec<_> = self.schedule.after(&start).take(32).collect();
        ticks.windows(2).map(|w| w[1] - w[0]).min()
    }
}

/// Rewrites a standard day-of-week field (0–7, Sunday = 0 or 7) with day names, which the
/// cron crate reads unambiguously (its numbers are 1–7 from Sunday).
fn standard_day_of_week(field: &str) -> Result<String, String> {
    let rewrite = |token: &str| -> Result<String, String> {
        if token.chars().all(|c| c.is_ascii_digit()) {
            let n: usize = token
                .parse()
                .map_err(|_| format!("bad day of week {token}"))?;
            DAY_NAMES
                .get(n % 7)
                .filter(|_| n <= 7)
                .map(|d| d.to_string())
                .ok_or_else(|| format!("day of week {n} is out of range 0-7"))
        } else {
            Ok(token.to_string())
        }
    };
    field
        .split(',')
        .map(|part| {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            let range = range
                .split('-')
                .map(rewrite)
                .collect::<Result<Vec<_>, _>>()?
                .join("-");
            Ok(match step {
                Some(s) => format!("{range}/{s}"),
                None => range,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(|parts| parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn five_and_six_fields() {
        assert!(Cron::parse("*/15 * * * *").is_ok());
        assert!(Cron::parse("0 */15 * * * *").is_ok());
        assert!(Cron::parse("* * * *").is_err());
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("every hour").is_err());
    }

    #[test]
    fn standard_weekdays_mean_what_crontab_means() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let start = tz.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap(); // a Wednesday
        let monday = Cron::parse("0 9 * * 1")
            .unwrap()
            .next_after(&start)
            .unwrap();
        assert_eq!(monday.weekday(), chrono::Weekday::Mon);
        let sunday = Cron::parse("0 9 * * 0")
            .unwrap()
            .next_after(&start)
            .unwrap();
        assert_eq!(sunday.weekday(), chrono::Weekday::Sun);
        let seven = Cron::parse("0 9 * * 7")
            .unwrap()
            .next_after(&start)
            .unwrap();
        assert_eq!(seven.weekday(), chrono::Weekday::Sun);
        assert!(Cron::parse("0 9 * * 8").is_err());
    }

    #[test]
    fn interval_is_the_shortest_gap() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let cron = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(cron.interval(tz), Some(Duration::minutes(15)));
    }
}
