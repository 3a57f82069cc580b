//! Cron schedules: standard 5-field expressions (minute first, day of week 0–7 with Sunday as
//! 0 or 7) and 6-field ones (seconds first), evaluated in the site's time zone; and the loop
//! that runs a job on one, with backoff after failures and no overlapping runs.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use cron::Schedule;

use crate::shutdown::Shutdown;

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

/// Why a cron expression was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Neither 5 nor 6 fields.
    #[error("{0} fields")]
    Fields(usize),
    /// A day-of-week field out of range (0–7 or SUN–SAT).
    #[error("{0}")]
    DayOfWeek(String),
    /// What the cron crate said of the expression.
    #[error("{0}")]
    Expression(String),
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    /// Parses a 5- or 6-field cron expression.
    pub fn parse(expr: &str) -> Result<Cron, CronError> {
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
            n => return Err(CronError::Fields(n)),
        };
        let schedule =
            Schedule::from_str(&full).map_err(|e| CronError::Expression(e.to_string()))?;
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

/// Wall-clock time that follows tokio's clock, so paused-time tests can drive schedules.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    instant: tokio::time::Instant,
    utc: DateTime<Utc>,
}

impl Clock {
    /// A clock anchored at the current time.
    pub fn start() -> Clock {
        Clock {
            instant: tokio::time::Instant::now(),
            utc: Utc::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = Duration::from_std(self.instant.elapsed()).unwrap_or(Duration::MAX);
        self.utc + elapsed
    }
}

/// How a failed run delays the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure; it doubles with each further one.
    pub base: std::time::Duration,
    /// The longest delay.
    pub max: std::time::Duration,
}

/// What a job reports back to the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOutcome {
    /// Whether the run failed.
    pub failed: bool,
    /// How long the upstream asked us to wait (`Retry-After`).
    pub retry_after: Option<std::time::Duration>,
}

/// When to run next: the next tick after `now`, or, after `failures` failures in a row, the
/// first tick after an exponential, jittered, capped delay (never sooner than `retry_after`).
pub fn next_run(
    cron: &Cron,
    tz: Tz,
    now: DateTime<Utc>,
    failures: u32,
    retry_after: Option<std::time::Duration>,
    backoff: Backoff,
) -> Option<DateTime<Utc>> {
    let mut earliest = now;
    if failures > 0 {
        let exp = backoff
            .base
            .saturating_mul(1 << failures.saturating_sub(1).min(20));
        let delay = exp.min(backoff.max).mul_f64(0.8 + 0.4 * fastrand::f64());
        let delay = delay.max(retry_after.unwrap_or_default());
        earliest = now + Duration::from_std(delay).unwrap_or(Duration::MAX);
    }
    cron.next_after(&earliest.with_timezone(&tz))
        .map(|t| t.with_timezone(&Utc))
}

/// Runs `job` on `cron` until `stop` is triggered. Runs never overlap: a tick that comes
/// while a run is going is skipped, and the next one is computed when the run ends.
pub async fn run_on_schedule<F, Fut>(
    cron: Cron,
    tz: Tz,
    clock: Clock,
    backoff: Backoff,
    stop: Shutdown,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = RunOutcome>,
{
    let mut failures = 0u32;
    let mut retry_after = None;
    loop {
        let now = clock.now();
        let Some(next) = next_run(&cron, tz, now, failures, retry_after, backoff) else {
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.triggered() => return,
        }
        let outcome = job().await;
        if outcome.failed {
            failures = failures.saturating_add(1);
            retry_after = outcome.retry_after;
        } else {
            failures = 0;
            retry_after = None;
        }
        if stop.is_triggered() {
            return;
        }
    }
}

/// Rewrites a standard day-of-week field (0–7, Sunday = 0 or 7) with day names, which the
/// cron crate reads unambiguously (its numbers are 1–7 from Sunday).
fn standard_day_of_week(field: &str) -> Result<String, CronError> {
    let rewrite = |token: &str| -> Result<String, CronError> {
        if token.chars().all(|c| c.is_ascii_digit()) {
            let n: usize = token
                .parse()
                .map_err(|_| CronError::DayOfWeek(format!("bad day of week {token}")))?;
            DAY_NAMES
                .get(n % 7)
                .filter(|_| n <= 7)
                .map(|d| d.to_string())
                .ok_or_else(|| CronError::DayOfWeek(format!("day of week {n} is out of range 0-7")))
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
        .collect::<Result<Vec<_>, CronError>>()
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
        assert_eq!(Cron::parse("* * * *").unwrap_err(), CronError::Fields(4));
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
        assert!(matches!(
            Cron::parse("0 9 * * 8"),
            Err(CronError::DayOfWeek(_))
        ));
    }

    #[test]
    fn backoff_grows_is_capped_and_respects_retry_after() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let cron = Cron::parse("* * * * *").unwrap(); // every minute
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 30).unwrap();
        let backoff = Backoff {
            base: std::time::Duration::from_secs(60),
            max: std::time::Duration::from_secs(3600),
        };
        let next =
            |failures, retry| next_run(&cron, tz, now, failures, retry, backoff).unwrap() - now;
        assert!(next(0, None) <= Duration::seconds(30));
        for _ in 0..20 {
            let d = next(3, None); // 4 min ± 20%, then the next tick
            assert!(
                d >= Duration::seconds(192) && d <= Duration::seconds(288 + 60),
                "{d}"
            );
            let capped = next(30, None);
            assert!(capped <= Duration::seconds(4320 + 60), "{capped}");
        }
        let asked = next(1, Some(std::time::Duration::from_secs(7200)));
        assert!(asked >= Duration::seconds(7200), "{asked}");
    }

    #[test]
    fn interval_is_the_shortest_gap() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let cron = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(cron.interval(tz), Some(Duration::minutes(15)));
    }
}
