//! Health: `Ok` only when the store is usable, nothing is behind and every source runs on
//! time; otherwise every reason, in words an operator can act on.

use chrono::{DateTime, Duration, Utc};

use super::{SourceHealth, Status};

/// How many schedule intervals a source may go without success before it is unhealthy.
pub const HEALTH_INTERVALS: i32 = 3;

/// How long a run may go on before it counts as stuck (when that is longer than
/// [`HEALTH_INTERVALS`] periods): a run that became slower than its schedule is not a fault.
pub const STUCK_RUN: Duration = Duration::minutes(15);

impl Status {
    /// `Ok` when the store is usable, the last publish left nothing behind and every source
    /// is healthy; otherwise the reasons.
    ///
    /// A source whose runs succeed is healthy as long as it runs: at most
    /// [`HEALTH_INTERVALS`] periods pass between the end of one run and the start of the next,
    /// a period being its schedule's interval or, when longer, its last run's duration; and no
    /// run goes on longer than that or [`STUCK_RUN`], whichever is longer. A failing source is
    /// unhealthy once its last success is [`HEALTH_INTERVALS`] periods old.
    pub fn health(&self, now: DateTime<Utc>) -> Result<(), Vec<String>> {
        let inner = self.lock();
        let mut problems = Vec::new();
        if let Some(problem) = &inner.store_problem {
            problems.push(problem.clone());
        }
        if !inner.started {
            problems.push("no build has finished yet".to_string());
        }
        if let Some(e) = &inner.last_build_error {
            problems.push(format!("last publish failed: {e}"));
        }
        if let Some((behind, error)) = &inner.behind {
            let since = behind
                .since
                .map(|t| {
                    format!(
                        " since {}",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                })
                .unwrap_or_default();
            problems.push(format!(
                "not converged: {} document(s) behind{since}, retrying; last error: {}",
                behind.documents,
                error.as_deref().unwrap_or("none")
            ));
        }
        for (path, reason) in &inner.rejected {
            problems.push(format!(
                "{path} held back by the publish gate (the last good version is served): {reason}"
            ));
        }
        for (name, h) in &inner.sources {
            if let Some(problem) = source_problem(name, h, now) {
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// What is wrong with a source at `now`, if anything (see [`Status::health`]).
fn source_problem(name: &str, h: &SourceHealth, now: DateTime<Utc>) -> Option<String> {
    let interval = h.interval.unwrap_or(Duration::hours(1));
    let period = h.last_duration.map_or(interval, |d| d.max(interval));
    let allowed = period * HEALTH_INTERVALS;
    let ago = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let Some(success) = h.last_success else {
        return match (&h.last_error, h.running_since) {
            (Some(e), _) => Some(format!(
                "source {name}: never succeeded ({} failed run(s); last error: {e})",
                h.consecutive_failures
            )),
            (None, Some(_)) => None,
            (None, None) => Some(format!("source {name}: has not run yet")),
        };
    };
    if let Some(error) = &h.last_error {
        return (now - success > allowed).then(|| {
            format!(
                "source {name}: failing; {} failed run(s) since its last success at {}; last \
                 error: {error}",
                h.consecutive_failures,
                ago(success)
            )
        });
    }
    match h.running_since {
        Some(start) => (now - start > allowed.max(STUCK_RUN)).then(|| {
            format!(
                "source {name}: its run started at {} is still going after {}s",
                ago(start),
                (now - start).num_seconds(),
            )
        }),
        None => (now - success.max(h.scheduled_since.unwrap_or(success)) > allowed).then(|| {
            format!(
                "source {name}: no run since {} (expected every {}s)",
                ago(success),
                interval.num_seconds()
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::Rejection;
    use crate::publish::{Behind, PublishError, Report};

    fn report(gate: &[(&str, Option<Rejection>)]) -> Report {
        Report {
            gate: gate
                .iter()
                .map(|(p, v)| (p.to_string(), v.clone()))
                .collect(),
            ..Report::default()
        }
    }

    #[test]
    fn a_document_held_back_by_the_gate_is_unhealthy_until_a_version_passes() {
        let status = Status::default();
        status.published(&report(&[]), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
        status.published(
            &report(&[("feeds/mfa.atom", Some(Rejection::NoSelfLink))]),
            0.1,
        );
        let problems = status.health(Utc::now()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("feeds/mfa.atom held back"),
            "{problems:?}"
        );
        assert!(problems[0].ends_with("no self link"));
        // Other documents passing does not clear it; its own next version does.
        status.published(&report(&[("feeds/all.atom", None)]), 0.1);
        assert!(status.health(Utc::now()).is_err());
        status.published(&report(&[("feeds/mfa.atom", None)]), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
    }

    #[test]
    fn documents_behind_are_unhealthy_until_a_publish_catches_up() {
        let status = Status::default();
        let since = Utc::now();
        let mut behind = report(&[]);
        behind.behind = Behind {
            documents: 7,
            since: Some(since),
        };
        behind.errors = vec![PublishError::Write {
            path: "feeds/mfa.rss".into(),
            error: std::sync::Arc::new(std::io::Error::from_raw_os_error(28)),
        }];
        status.published(&behind, 0.1);
        let problems = status.health(Utc::now()).unwrap_err();
        assert!(
            problems[0].starts_with("not converged: 7 document(s) behind since ")
                && problems[0].contains("last error: feeds/mfa.rss: No space left on device"),
            "{problems:?}"
        );
        // A retry that fails without a new error keeps the last one.
        behind.errors.clear();
        status.published(&behind, 0.1);
        assert!(status.health(Utc::now()).unwrap_err()[0].contains("No space left"));
        status.published(&report(&[]), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
    }

    /// The first run at start-up, then a first publish that takes longer than three periods:
    /// no run was due before the schedule began.
    #[test]
    fn a_run_is_overdue_only_after_the_schedule_began() {
        let status = Status::default();
        status.published(&report(&[]), 0.1);
        status.set_sources([(
            "fast".to_string(),
            Some(Duration::seconds(1)),
            SourceHealth::default(),
        )]);
        let start = Utc::now();
        status.source_started("fast", start);
        status.source_ran("fast", Ok(20), start, Duration::milliseconds(100));
        status.schedules_started(start + Duration::seconds(5));
        assert_eq!(status.health(start + Duration::seconds(7)), Ok(()));
        let problems = status.health(start + Duration::seconds(9)).unwrap_err();
        assert!(problems[0].contains("no run since"), "{problems:?}");
    }

    /// A source on a 1 s schedule whose runs all succeed and take 5 s each.
    #[test]
    fn a_source_slower_than_its_schedule_stays_healthy_while_it_succeeds() {
        let status = Status::default();
        status.published(&report(&[]), 0.1);
        status.set_sources([(
            "slow".to_string(),
            Some(Duration::seconds(1)),
            SourceHealth::default(),
        )]);
        let mut now = Utc::now();
        for _ in 0..10 {
            status.source_started("slow", now);
            for step in 0..5 {
                assert_eq!(
                    status.health(now + Duration::seconds(step)),
                    Ok(()),
                    "during a run"
                );
            }
            now += Duration::seconds(5);
            status.source_ran("slow", Ok(0), now, Duration::seconds(5));
            assert_eq!(status.health(now), Ok(()), "after a run");
        }
        // Stalled: no run for more than 3 periods of 5 s.
        let problems = status.health(now + Duration::seconds(16)).unwrap_err();
        assert!(
            problems[0].starts_with("source slow: no run since"),
            "{problems:?}"
        );
        // A run that goes on and on: stuck after 15 minutes.
        status.source_started("slow", now);
        assert_eq!(status.health(now + Duration::minutes(14)), Ok(()));
        let problems = status.health(now + Duration::minutes(16)).unwrap_err();
        assert!(problems[0].contains("still going after"), "{problems:?}");
        // A failure after a success: unhealthy only once the success is 3 periods old.
        status.source_ran("slow", Err("boom".into()), now, Duration::seconds(5));
        assert_eq!(status.health(now + Duration::seconds(10)), Ok(()));
        let problems = status.health(now + Duration::seconds(16)).unwrap_err();
        assert!(
            problems[0].contains("failing; 1 failed run(s)") && problems[0].ends_with("boom"),
            "{problems:?}"
        );
    }
}
