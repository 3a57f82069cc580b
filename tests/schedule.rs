//! The schedule loop under paused tokio time: runs never overlap, overdue ticks are skipped,
//! failures back off, and stop ends the loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono_tz::Tz;
use govfeeds::schedule::{Backoff, Clock, Cron, RunOutcome, run_on_schedule};
use govfeeds::shutdown::Shutdown;
use tokio::sync::Mutex;

const BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(60),
    max: Duration::from_secs(3600),
};

fn tz() -> Tz {
    "Asia/Almaty".parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn slow_runs_never_overlap_and_skip_missed_ticks() {
    let runs = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicBool::new(false));
    let overlapped = Arc::new(AtomicBool::new(false));
    let stop = Shutdown::default();
    let job = {
        let (runs, busy, overlapped) = (runs.clone(), busy.clone(), overlapped.clone());
        move || {
            let (runs, busy, overlapped) = (runs.clone(), busy.clone(), overlapped.clone());
            async move {
                if busy.swap(true, Ordering::SeqCst) {
                    overlapped.store(true, Ordering::SeqCst);
                }
                runs.fetch_add(1, Ordering::SeqCst);
                // Each run takes 90 s on a schedule of every minute.
                tokio::time::sleep(Duration::from_secs(90)).await;
                busy.store(false, Ordering::SeqCst);
                RunOutcome::default()
            }
        }
    };
    let task = tokio::spawn(run_on_schedule(
        Cron::parse("* * * * *").unwrap(),
        tz(),
        Clock::start(),
        BACKOFF,
        stop.clone(),
        job,
    ));
    tokio::time::sleep(Duration::from_secs(20 * 60)).await;
    stop.trigger();
    tokio::time::timeout(Duration::from_secs(120), task)
        .await
        .unwrap()
        .unwrap();
    let n = runs.load(Ordering::SeqCst);
    assert!(
        !overlapped.load(Ordering::SeqCst),
        "a run started while another was going"
    );
    // One run every 2 minutes (90 s of work, then the next minute tick): about 10 in 20 minutes.
    assert!((9..=11).contains(&n), "{n} runs");
}

#[tokio::test(start_paused = true)]
async fn fast_runs_follow_every_tick() {
    let runs = Arc::new(AtomicUsize::new(0));
    let stop = Shutdown::default();
    let counter = runs.clone();
    let job = move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            RunOutcome::default()
        }
    };
    let task = tokio::spawn(run_on_schedule(
        Cron::parse("*/15 * * * *").unwrap(),
        tz(),
        Clock::start(),
        BACKOFF,
        stop.clone(),
        job,
    ));
    tokio::time::sleep(Duration::from_secs(3600)).await;
    stop.trigger();
    task.await.unwrap();
    let n = runs.load(Ordering::SeqCst);
    assert!((4..=5).contains(&n), "{n} runs in an hour of */15");
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_and_a_success_resets() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let stop = Shutdown::default();
    let clock = Clock::start();
    let log = times.clone();
    let job = move || {
        let log = log.clone();
        async move {
            let mut log = log.lock().await;
            log.push(clock.now());
            // Fail the first five runs, then succeed.
            RunOutcome {
                failed: log.len() <= 5,
                retry_after: None,
            }
        }
    };
    let task = tokio::spawn(run_on_schedule(
        Cron::parse("* * * * *").unwrap(),
        tz(),
        clock,
        BACKOFF,
        stop.clone(),
        job,
    ));
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    stop.trigger();
    task.await.unwrap();
    let times = times.lock().await;
    let gaps: Vec<i64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).num_seconds())
        .collect();
    // After failures 1..5 the delays are about 1, 2, 4, 8, 16 minutes (±20%, then the next tick).
    for (i, expected) in [60i64, 120, 240, 480, 960].iter().enumerate() {
        let gap = gaps[i];
        assert!(
            gap as f64 >= *expected as f64 * 0.8 && gap <= expected * 6 / 5 + 60,
            "gap {i}: {gap}s, {gaps:?}"
        );
    }
    // After the success, back to every minute.
    assert!(gaps[5..].iter().take(10).all(|g| *g <= 60), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn stop_ends_the_loop_while_waiting() {
    let stop = Shutdown::default();
    let job = || async { RunOutcome::default() };
    let task = tokio::spawn(run_on_schedule(
        Cron::parse("0 0 1 1 *").unwrap(),
        tz(),
        Clock::start(),
        BACKOFF,
        stop.clone(),
        job,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.trigger();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("stopped at once")
        .unwrap();
}
